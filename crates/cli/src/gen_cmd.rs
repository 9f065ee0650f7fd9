//! `fupin gen`: a synthetic county register.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Number of households.
    #[arg(long)]
    pub households: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder for members and villages files.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(_args: &GenArgs) -> Result<ExitCode> {
    anyhow::bail!("fupin gen is not wired yet")
}
