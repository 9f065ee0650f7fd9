//! `fupin standards`: the poverty lines known, per year and place, and their sources.

use anyhow::Result;
use fupin_domain::standards::Standards;
use std::path::Path;
use std::process::ExitCode;

/// The built-in lines plus a user's file.
pub fn load(file: Option<&Path>) -> Result<Standards, fupin_io::FileError> {
    let mut s = Standards::builtin();
    if let Some(f) = file {
        fupin_io::standards_file::read_standards(f, &mut s)?;
    }
    Ok(s)
}

pub fn run(file: Option<&Path>) -> Result<ExitCode> {
    let s = match load(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    println!("年度\t地区\t标准（元/人·年）\t核实\t来源");
    for l in s.all() {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            l.year,
            l.place.as_deref().unwrap_or("全国"),
            l.amount.grouped_short(),
            if l.verified {
                "是"
            } else {
                "否（常见引用值，未经核实）"
            },
            l.source
        );
    }
    println!("\n可用 --standards 文件（列：年度、地区、标准、来源、是否核实）为某年某地设定标准；地区可为名称或6位行政区划代码，县代码找不到时依次使用所属市、省、全国标准。");
    Ok(ExitCode::SUCCESS)
}
