//! Generate a register and report the time: `cargo run --release -p fupin-gen --example gen
//! -- HOUSEHOLDS OUT_DIR [csv|xlsx] [utf-8|gbk] [ERROR_RATE] [SEED]`.

use fupin_gen::{generate, Encoding, Format, GenOptions};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let opts = GenOptions {
        households: arg(0).and_then(|s| s.parse().ok()).unwrap_or(1_000_000),
        format: arg(2).and_then(Format::parse).unwrap_or_default(),
        encoding: arg(3).and_then(Encoding::parse).unwrap_or_default(),
        error_rate: arg(4).and_then(|s| s.parse().ok()).unwrap_or(0.01),
        seed: arg(5).and_then(|s| s.parse().ok()).unwrap_or(1),
        ..GenOptions::default()
    };
    let out = std::path::PathBuf::from(arg(1).unwrap_or("/tmp/fupin-gen"));
    let start = Instant::now();
    let s = generate(&opts, &out)?;
    let secs = start.elapsed().as_secs_f64();
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    println!(
        "{} households, {} members, {} townships, {} villages, {} errors, {} warnings injected",
        s.households, s.members, s.townships, s.villages, s.injected_errors, s.injected_warnings
    );
    println!(
        "{:.2} s; members {:.1} MB, villages {:.1} MB",
        secs,
        size(&s.members_path) as f64 / 1e6,
        size(&s.villages_path) as f64 / 1e6
    );
    Ok(())
}
