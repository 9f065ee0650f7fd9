//! Field values of the register and their allowed sets (registry spec §1.1, §1.3).

/// Defines an enum whose values are read from fixed Chinese labels.
macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order the spec lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The accepted labels, for error messages.
            pub const ALLOWED: &'static str = concat!($($label, " "),+);

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($label => Some($name::$variant),)+ _ => None }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }
    };
}

label_enum!(
    /// 性别.
    Sex { Male => "男", Female => "女" }
);

label_enum!(
    /// 健康状况.
    Health { Healthy => "健康", Chronic => "长期慢性病", SeriousIllness => "患有大病", Disabled => "残疾" }
);

label_enum!(
    /// 劳动技能.
    Labor {
        Ordinary => "普通劳动力",
        Skilled => "技能劳动力",
        Weak => "弱劳动力或半劳动力",
        Lost => "丧失劳动力",
        None => "无劳动力",
    }
);

impl Labor {
    /// Able to work: the household's income gap goes to industry or employment tasks.
    pub fn can_work(self) -> bool {
        matches!(self, Labor::Ordinary | Labor::Skilled | Labor::Weak)
    }
}

label_enum!(
    /// 脱贫属性.
    PovertyStatus { NotExited => "未脱贫", Exited => "已脱贫" }
);

label_enum!(
    /// 贫困户属性.
    HouseholdType { General => "一般贫困户", Dibao => "低保贫困户", Tekun => "特困供养贫困户" }
);

label_enum!(
    /// 主要致贫原因.
    MainCause {
        Illness => "因病",
        Disability => "因残",
        Schooling => "因学",
        Disaster => "因灾",
        NoLand => "缺土地",
        NoWater => "缺水",
        NoSkills => "缺技术",
        NoLabor => "缺劳力",
        NoCapital => "缺资金",
        Transport => "交通条件落后",
        NoDrive => "自身发展动力不足",
        Marriage => "因婚",
        Funeral => "因丧",
        Other => "其他",
    }
);

label_enum!(
    /// 住房安全等级: C (局部危房) and D (整栋危房) are dangerous.
    HousingGrade { A => "A", B => "B", C => "C", D => "D" }
);

impl HousingGrade {
    /// Grade letters are accepted in either case.
    pub fn parse_any_case(text: &str) -> Option<HousingGrade> {
        match text {
            "a" => Some(HousingGrade::A),
            "b" => Some(HousingGrade::B),
            "c" => Some(HousingGrade::C),
            "d" => Some(HousingGrade::D),
            _ => HousingGrade::parse(text),
        }
    }

    pub fn is_safe(self) -> bool {
        matches!(self, HousingGrade::A | HousingGrade::B)
    }
}

label_enum!(
    /// 危房改造状态 (default 无).
    Renovation { None => "无", NotStarted => "未开工", Building => "在建", Done => "已竣工" }
);

label_enum!(
    /// 易地扶贫搬迁 (default 否).
    Relocation { No => "否", NotMovedIn => "未入住", MovedIn => "已搬迁入住" }
);

/// Booleans: 是/否, Y/N, yes/no, true/false, 1/0, case-insensitive.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "是" | "1" => Some(true),
        "否" | "0" => Some(false),
        t if t.eq_ignore_ascii_case("y")
            || t.eq_ignore_ascii_case("yes")
            || t.eq_ignore_ascii_case("true") =>
        {
            Some(true)
        }
        t if t.eq_ignore_ascii_case("n")
            || t.eq_ignore_ascii_case("no")
            || t.eq_ignore_ascii_case("false") =>
        {
            Some(false)
        }
        _ => None,
    }
}

pub const BOOL_ALLOWED: &str = "是/否、Y/N、yes/no、true/false、1/0";

pub fn bool_label(v: bool) -> &'static str {
    if v {
        "是"
    } else {
        "否"
    }
}

/// 在校生状况 (registry spec §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Schooling {
    NotStudent,
    Preschool,
    /// 小学; grade 0 when the grade is not given.
    Primary(u8),
    /// 七年级 … 九年级 as 7 … 9.
    JuniorMiddle(u8),
    HighSchool(u8),
    Vocational(u8),
    HigherVocational(u8),
    CollegeOrAbove,
    HomeTeaching,
    UnfitForStudy,
    OutOfSchool,
    DroppedOut,
}

pub const SCHOOLING_ALLOWED: &str = "非在校生、学前教育、小学（或小学一年级…小学六年级）、七年级、八年级、九年级、高中一年级…高中三年级、中职一年级…中职三年级、高职一年级…高职三年级、大专及以上、送教上门、因身体原因不具备学习条件、失学、辍学";

const GRADES: [&str; 6] = ["一", "二", "三", "四", "五", "六"];

fn grade_suffix(rest: &str, max: u8) -> Option<u8> {
    let g = rest.strip_suffix("年级")?;
    let n = GRADES.iter().position(|x| *x == g)? as u8 + 1;
    (n <= max).then_some(n)
}

impl Schooling {
    pub fn parse(text: &str) -> Option<Schooling> {
        Some(match text {
            "非在校生" => Schooling::NotStudent,
            "学前教育" => Schooling::Preschool,
            "小学" => Schooling::Primary(0),
            "七年级" => Schooling::JuniorMiddle(7),
            "八年级" => Schooling::JuniorMiddle(8),
            "九年级" => Schooling::JuniorMiddle(9),
            "大专及以上" => Schooling::CollegeOrAbove,
            "送教上门" => Schooling::HomeTeaching,
            "因身体原因不具备学习条件" => Schooling::UnfitForStudy,
            "失学" => Schooling::OutOfSchool,
            "辍学" => Schooling::DroppedOut,
            t => {
                if let Some(r) = t.strip_prefix("小学") {
                    Schooling::Primary(grade_suffix(r, 6)?)
                } else if let Some(r) = t.strip_prefix("高中") {
                    Schooling::HighSchool(grade_suffix(r, 3)?)
                } else if let Some(r) = t.strip_prefix("中职") {
                    Schooling::Vocational(grade_suffix(r, 3)?)
                } else if let Some(r) = t.strip_prefix("高职") {
                    Schooling::HigherVocational(grade_suffix(r, 3)?)
                } else {
                    return None;
                }
            }
        })
    }

    /// "Enrolled" is every value except 非在校生, 失学, 辍学 and 因身体原因不具备学习条件.
    pub fn is_enrolled(self) -> bool {
        !matches!(
            self,
            Schooling::NotStudent
                | Schooling::OutOfSchool
                | Schooling::DroppedOut
                | Schooling::UnfitForStudy
        )
    }

    pub fn label(self) -> String {
        let g = |n: u8| {
            GRADES
                .get(usize::from(n).wrapping_sub(1))
                .copied()
                .unwrap_or("")
        };
        match self {
            Schooling::NotStudent => "非在校生".into(),
            Schooling::Preschool => "学前教育".into(),
            Schooling::Primary(0) => "小学".into(),
            Schooling::Primary(n) => format!("小学{}年级", g(n)),
            Schooling::JuniorMiddle(7) => "七年级".into(),
            Schooling::JuniorMiddle(8) => "八年级".into(),
            Schooling::JuniorMiddle(_) => "九年级".into(),
            Schooling::HighSchool(n) => format!("高中{}年级", g(n)),
            Schooling::Vocational(n) => format!("中职{}年级", g(n)),
            Schooling::HigherVocational(n) => format!("高职{}年级", g(n)),
            Schooling::CollegeOrAbove => "大专及以上".into(),
            Schooling::HomeTeaching => "送教上门".into(),
            Schooling::UnfitForStudy => "因身体原因不具备学习条件".into(),
            Schooling::OutOfSchool => "失学".into(),
            Schooling::DroppedOut => "辍学".into(),
        }
    }

    /// W203: schooling implausible for age — 学前教育 at 8 or older, 小学 at 18 or older,
    /// 大专及以上 under 15.
    pub fn implausible_for_age(self, age: i32) -> bool {
        match self {
            Schooling::Preschool => age >= 8,
            Schooling::Primary(_) => age >= 18,
            Schooling::CollegeOrAbove => age < 15,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schooling_label_round_trips() {
        for t in [
            "非在校生",
            "学前教育",
            "小学",
            "小学一年级",
            "小学六年级",
            "七年级",
            "八年级",
            "九年级",
            "高中一年级",
            "高中三年级",
            "中职二年级",
            "高职三年级",
            "大专及以上",
            "送教上门",
            "因身体原因不具备学习条件",
            "失学",
            "辍学",
        ] {
            let s = Schooling::parse(t).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(s.label(), t);
        }
        assert_eq!(Schooling::parse("小学七年级"), None);
        assert_eq!(Schooling::parse("高中四年级"), None);
        assert_eq!(Schooling::parse("初中"), None);
    }

    #[test]
    fn booleans() {
        for t in ["是", "Y", "y", "YES", "True", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for t in ["否", "N", "no", "FALSE", "0"] {
            assert_eq!(parse_bool(t), Some(false), "{t}");
        }
        assert_eq!(parse_bool("有"), None);
    }
}
