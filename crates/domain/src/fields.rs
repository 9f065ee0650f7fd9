//! The columns of the register files (registry spec §1.1, §1.2) and header matching.

/// Defines a column set: Chinese header, English alias, whether the column is required.
macro_rules! columns {
    ($(#[$m:meta])* $name:ident { $($variant:ident => ($zh:literal, $en:literal, $req:literal)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const COUNT: usize = $name::ALL.len();

            /// The Chinese header, also the column name used in problems.
            pub fn chinese(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// The English alias accepted as a header.
            pub fn alias(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            /// A required column must be present (E101).
            pub fn required(self) -> bool {
                match self { $($name::$variant => $req),+ }
            }

            /// Match a header cell: trimmed (half- and full-width spaces), Chinese or alias.
            pub fn from_header(header: &str) -> Option<$name> {
                let h = trim_cell(header);
                $name::ALL
                    .iter()
                    .copied()
                    .find(|f| f.chinese() == h || f.alias().eq_ignore_ascii_case(h))
            }

            pub fn index(self) -> usize {
                self as usize
            }
        }
    };
}

columns!(
    /// A column of the members file.
    Field {
        HouseholdId => ("户编号", "household_id", true),
        Township => ("乡镇", "township", true),
        Village => ("行政村", "village", true),
        Name => ("姓名", "name", true),
        IdNumber => ("证件号码", "id_number", true),
        Relation => ("与户主关系", "relation", true),
        Sex => ("性别", "sex", false),
        Schooling => ("在校生状况", "schooling", true),
        Health => ("健康状况", "health", false),
        Labor => ("劳动技能", "labor", false),
        MedicalInsurance => ("是否参加基本医疗保险", "medical_insurance", true),
        ActiveMilitary => ("是否现役军人", "active_military", false),
        PovertyStatus => ("脱贫属性", "poverty_status", true),
        HouseholdType => ("贫困户属性", "household_type", false),
        MainCause => ("主要致贫原因", "main_cause", false),
        WageIncome => ("工资性收入", "wage_income", true),
        OperatingIncome => ("生产经营性收入", "operating_income", true),
        OperatingExpense => ("生产经营性支出", "operating_expense", true),
        PropertyIncome => ("财产性收入", "property_income", true),
        TransferIncome => ("转移性收入", "transfer_income", true),
        PerCapitaIncome => ("人均纯收入", "per_capita_income", false),
        FoodSecure => ("不愁吃", "food_secure", true),
        ClothingSecure => ("不愁穿", "clothing_secure", true),
        HousingGrade => ("住房安全等级", "housing_grade", true),
        Renovation => ("危房改造状态", "renovation", false),
        Relocation => ("易地扶贫搬迁", "relocation", false),
        SafeWater => ("饮水安全", "safe_water", true),
    }
);

impl Field {
    /// Household-level fields stand on every row of the household and must agree (E109).
    pub fn household_level(self) -> bool {
        use Field::*;
        matches!(
            self,
            HouseholdId
                | Township
                | Village
                | PovertyStatus
                | HouseholdType
                | MainCause
                | WageIncome
                | OperatingIncome
                | OperatingExpense
                | PropertyIncome
                | TransferIncome
                | PerCapitaIncome
                | FoodSecure
                | ClothingSecure
                | HousingGrade
                | Renovation
                | Relocation
                | SafeWater
        )
    }
}

columns!(
    /// A column of the villages file.
    VillageField {
        Township => ("乡镇", "township", true),
        Village => ("行政村", "village", true),
        Population => ("户籍人口", "population", true),
        PoorVillage => ("是否贫困村", "poor_village", false),
        Road => ("通硬化路", "road", false),
        Power => ("通动力电", "power", false),
        Broadband => ("通宽带", "broadband", false),
        Clinic => ("有卫生室", "clinic", false),
        CollectiveIncome => ("村集体经济收入", "collective_income", false),
    }
);

/// What kind of character a name must not hold, in words for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiddenKind {
    Control,
    Direction,
    ZeroWidth,
}

impl HiddenKind {
    pub fn chinese(self) -> &'static str {
        match self {
            HiddenKind::Control => "控制字符",
            HiddenKind::Direction => "文字方向控制符",
            HiddenKind::ZeroWidth => "零宽字符",
        }
    }
}

/// The kind of `c` when a name must not hold it (policy: names hold no control characters
/// U+0001–U+001F, U+007F–U+009F, no bidi marks, overrides or isolates U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069, and no zero-width characters U+200B–U+200D,
/// U+2060, U+FEFF: they are invisible, or reorder what is shown, so two names that look
/// the same would differ).
pub fn hidden_kind(c: char) -> Option<HiddenKind> {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some(HiddenKind::ZeroWidth),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some(HiddenKind::Direction),
        c if c.is_control() => Some(HiddenKind::Control),
        _ => None,
    }
}

/// The first character of `text` a name must not hold ([`hidden_kind`]), with its kind.
pub fn first_hidden(text: &str) -> Option<(char, HiddenKind)> {
    // Printable ASCII and most Chinese text hold none: only bytes that may start one are
    // looked at closely (C0 controls, DEL, and the lead bytes of U+0080–U+009F, U+061C
    // and U+2000–U+2FFF, U+FEFF).
    if !text
        .bytes()
        .any(|b| b < 0x20 || b == 0x7F || b == 0xC2 || b == 0xD8 || b == 0xE2 || b == 0xEF)
    {
        return None;
    }
    text.chars().find_map(|c| hidden_kind(c).map(|k| (c, k)))
}

/// Trim half-width and full-width spaces (and tabs, line ends, and a stray BOM) from a cell.
pub fn trim_cell(cell: &str) -> &str {
    // Almost every cell starts and ends with neither; telling so from the bytes spares
    // decoding characters (a Chinese cell starts and ends with a byte ≥ 0x80).
    let spaced = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let b = cell.as_bytes();
    let lead = match b {
        [] => return cell,
        [c, ..] if spaced(*c) => true,
        [0xE3, 0x80, 0x80, ..] | [0xEF, 0xBB, 0xBF, ..] => true,
        _ => false,
    };
    let trail = match b {
        [.., c] if spaced(*c) => true,
        [.., 0xE3, 0x80, 0x80] | [.., 0xEF, 0xBB, 0xBF] => true,
        _ => false,
    };
    if !lead && !trail {
        return cell;
    }
    cell.trim_matches(|c: char| matches!(c, ' ' | '\u{3000}' | '\t' | '\u{feff}' | '\r' | '\n'))
}

/// Where each known column stands in a file, and what was not recognised.
#[derive(Debug, Clone)]
pub struct HeaderMap<F> {
    /// For each field (by index), its 0-based column position in the file.
    pub positions: Vec<Option<usize>>,
    /// Headers that matched no field (W205), as written.
    pub unknown: Vec<String>,
    /// Fields that appear more than once: (field, first position, second position).
    pub repeated: Vec<(F, usize, usize)>,
    pub width: usize,
}

macro_rules! header_map_impl {
    ($f:ident) => {
        impl HeaderMap<$f> {
            pub fn new<'a>(headers: impl IntoIterator<Item = &'a str>) -> HeaderMap<$f> {
                let mut positions = vec![None; $f::COUNT];
                let mut unknown = Vec::new();
                let mut repeated = Vec::new();
                let mut width = 0;
                for (i, h) in headers.into_iter().enumerate() {
                    width = i + 1;
                    match $f::from_header(h) {
                        Some(f) => match positions[f.index()] {
                            Some(first) => repeated.push((f, first, i)),
                            None => positions[f.index()] = Some(i),
                        },
                        None if trim_cell(h).is_empty() => {}
                        None => unknown.push(trim_cell(h).to_string()),
                    }
                }
                HeaderMap {
                    positions,
                    unknown,
                    repeated,
                    width,
                }
            }

            pub fn position(&self, f: $f) -> Option<usize> {
                self.positions[f.index()]
            }

            pub fn has(&self, f: $f) -> bool {
                self.positions[f.index()].is_some()
            }

            /// Required fields with no column (E101).
            pub fn missing_required(&self) -> Vec<$f> {
                $f::ALL
                    .iter()
                    .copied()
                    .filter(|f| f.required() && !self.has(*f))
                    .collect()
            }
        }
    };
}

header_map_impl!(Field);
header_map_impl!(VillageField);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_chinese_or_alias_after_trimming() {
        assert_eq!(
            Field::from_header("\u{3000}户编号 "),
            Some(Field::HouseholdId)
        );
        assert_eq!(Field::from_header("ID_Number"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("备注"), None);
        let m = HeaderMap::<Field>::new(["姓名", "备注", "village", "姓名"]);
        assert_eq!(m.position(Field::Name), Some(0));
        assert_eq!(m.position(Field::Village), Some(2));
        assert_eq!(m.unknown, vec!["备注".to_string()]);
        assert_eq!(m.repeated, vec![(Field::Name, 0, 3)]);
        assert!(m.missing_required().contains(&Field::HouseholdId));
    }

    #[test]
    fn cells_lose_half_and_full_width_spaces_and_a_stray_bom_at_either_end() {
        for (cell, trimmed) in [
            ("", ""),
            ("张三", "张三"),
            ("12.5", "12.5"),
            (" 12.5\t", "12.5"),
            ("\u{3000}张三", "张三"),
            ("张三\u{3000}\u{3000}", "张三"),
            ("\u{feff}户编号", "户编号"),
            ("户主\r\n", "户主"),
            ("\u{3000}", ""),
            ("张\u{3000}三", "张\u{3000}三"),
            ("呀", "呀"),
        ] {
            assert_eq!(trim_cell(cell), trimmed, "{cell:?}");
        }
    }
}
