//! Reading registers as the store needs them.

#[path = "io/hostile.rs"]
mod hostile;
#[path = "io/plan.rs"]
mod plan;
#[path = "io/projects.rs"]
mod projects;

use fupin_io::{read_members, ReadOptions};
use std::path::Path;

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cli/tests/fixtures/golden")
        .join(name)
}

/// With `member_texts`, every member keeps its name and relation, in member order, for
/// CSV and XLSX alike; without it, nothing is kept.
#[test]
fn member_names_and_relations_are_kept_when_asked() {
    for file in ["members.csv", "members.xlsx", "members_gbk_en.csv"] {
        let mut opts = ReadOptions::new(2018);
        opts.member_texts = true;
        let r = read_members(&golden(file), &opts).unwrap();
        assert_eq!(r.member_texts.len(), r.households.len(), "{file}");
        for (h, t) in r.households.iter().zip(&r.member_texts) {
            assert_eq!(h.members.len(), t.len(), "{file} {}", h.id);
        }
        let first = &r.member_texts[0];
        assert_eq!(&*first[0].name, "测试户主01", "{file}");
        assert_eq!(&*first[0].relation, "户主", "{file}");
        assert_eq!(&*first[1].relation, "配偶", "{file}");
        let plain = read_members(&golden(file), &ReadOptions::new(2018)).unwrap();
        assert!(plain.member_texts.is_empty());
    }
}

/// A household whose rows are apart in the file still gets its names in row order.
#[test]
fn names_follow_households_whose_rows_are_apart() {
    let mut opts = ReadOptions::new(2018);
    opts.member_texts = true;
    let r = read_members(&golden("members.csv"), &opts).unwrap();
    for (h, t) in r.households.iter().zip(&r.member_texts) {
        let heads = h.members.iter().filter(|m| m.is_head).count();
        let head_texts = t.iter().filter(|x| &*x.relation == "户主").count();
        assert_eq!(heads, head_texts, "{}", h.id);
    }
}

/// Progress of reading a CSV file: when the read is done, the counter holds the file's
/// size (a progress bar ends at 100%).
#[test]
fn csv_progress_ends_at_the_file_size() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let path = golden("members.csv");
    let read = Arc::new(AtomicU64::new(0));
    let opts = ReadOptions {
        progress: Some(Arc::clone(&read)),
        ..ReadOptions::new(2018)
    };
    read_members(&path, &opts).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(read.load(Ordering::Relaxed), size);
}
