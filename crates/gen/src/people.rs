//! The members of a household: who they are to the head, how old, in school or not, their
//! health and capacity to work. Families follow a few common shapes (a lone elder, an
//! elderly couple, parents with children, three generations) so that relations, ages and
//! schooling agree with each other.

use crate::rng::Rng;
use fupin_domain::values::{Health, Labor};

/// 与户主关系. The spec accepts any text besides 户主; these are the common ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Head,
    Spouse,
    Son,
    Daughter,
    Grandson,
    Granddaughter,
    Father,
    Mother,
}

impl Relation {
    pub fn label(self) -> &'static str {
        match self {
            Relation::Head => "户主",
            Relation::Spouse => "配偶",
            Relation::Son => "之子",
            Relation::Daughter => "之女",
            Relation::Grandson => "之孙子",
            Relation::Granddaughter => "之孙女",
            Relation::Father => "之父",
            Relation::Mother => "之母",
        }
    }
}

/// 在校生状况 labels, written as they stand in the spec (§1.3).
pub mod school {
    pub const NOT_STUDENT: &str = "非在校生";
    pub const PRESCHOOL: &str = "学前教育";
    pub const PRIMARY: [&str; 6] = [
        "小学一年级",
        "小学二年级",
        "小学三年级",
        "小学四年级",
        "小学五年级",
        "小学六年级",
    ];
    pub const JUNIOR: [&str; 3] = ["七年级", "八年级", "九年级"];
    pub const HIGH: [&str; 3] = ["高中一年级", "高中二年级", "高中三年级"];
    pub const VOCATIONAL: [&str; 3] = ["中职一年级", "中职二年级", "中职三年级"];
    pub const HIGHER_VOCATIONAL: [&str; 3] = ["高职一年级", "高职二年级", "高职三年级"];
    pub const COLLEGE: &str = "大专及以上";
    pub const HOME_TEACHING: &str = "送教上门";
    pub const UNFIT: &str = "因身体原因不具备学习条件";
    pub const OUT_OF_SCHOOL: &str = "失学";
    pub const DROPPED_OUT: &str = "辍学";
}

/// One member. Ages are whole years on 1 September of the assessment year.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    pub relation: Relation,
    pub male: bool,
    pub age: u8,
    /// Birth date as a day number (see `date`).
    pub birth: i64,
    pub id: [u8; 18],
    pub schooling: &'static str,
    pub health: Health,
    pub labor: Labor,
    pub insured: bool,
    pub military: bool,
}

impl Person {
    pub const EMPTY: Person = Person {
        relation: Relation::Head,
        male: true,
        age: 0,
        birth: 0,
        id: [b'0'; 18],
        schooling: school::NOT_STUDENT,
        health: Health::Healthy,
        labor: Labor::None,
        insured: true,
        military: false,
    };

    fn new(relation: Relation, male: bool, age: i64) -> Person {
        Person {
            relation,
            male,
            age: age.clamp(0, 99) as u8,
            ..Person::EMPTY
        }
    }
}

/// Household size 1–7: mean about 3.4, most households of 2–5 people.
pub fn draw_size(rng: &mut Rng) -> usize {
    // Shares in per-mille for sizes 1..=7.
    1 + rng.weighted(&[120, 195, 215, 235, 140, 60, 35])
}

/// Family shapes: C child, P parent of the head, G grandchild; S spouse present.
#[derive(Clone, Copy)]
struct Shape {
    spouse: bool,
    children: u8,
    parents: u8,
    grandchildren: u8,
}

const fn shape(spouse: bool, children: u8, parents: u8, grandchildren: u8) -> Shape {
    Shape {
        spouse,
        children,
        parents,
        grandchildren,
    }
}

fn draw_shape(rng: &mut Rng, size: usize) -> Shape {
    let options: &[(Shape, u32)] = match size {
        1 => &[(shape(false, 0, 0, 0), 1)],
        2 => &[(shape(true, 0, 0, 0), 65), (shape(false, 1, 0, 0), 35)],
        3 => &[
            (shape(true, 1, 0, 0), 60),
            (shape(false, 2, 0, 0), 15),
            (shape(true, 0, 1, 0), 10),
            (shape(false, 1, 0, 1), 15),
        ],
        4 => &[
            (shape(true, 2, 0, 0), 60),
            (shape(true, 1, 1, 0), 20),
            (shape(true, 1, 0, 1), 20),
        ],
        5 => &[
            (shape(true, 3, 0, 0), 30),
            (shape(true, 2, 1, 0), 25),
            (shape(true, 1, 0, 2), 30),
            (shape(true, 1, 2, 0), 15),
        ],
        6 => &[
            (shape(true, 2, 2, 0), 35),
            (shape(true, 2, 0, 2), 35),
            (shape(true, 4, 0, 0), 10),
            (shape(true, 1, 0, 3), 20),
        ],
        _ => &[(shape(true, 2, 0, 3), 50), (shape(true, 3, 2, 0), 50)],
    };
    rng.pick(options)
}

/// Relations, sexes and ages of a household of `size` members, head first.
pub fn draw_family(rng: &mut Rng, size: usize, out: &mut [Person; 7]) {
    let s = draw_shape(rng, size);
    let with_grandchildren = s.grandchildren > 0;
    let with_parents = s.parents > 0;
    // Head's age fits the shape: grandparents are old, heads living with their parents young.
    let head_age = if with_grandchildren {
        rng.range(50, 76)
    } else if with_parents {
        rng.range(26, 48)
    } else if s.children > 0 {
        if s.spouse {
            rng.range(28, 56)
        } else {
            rng.range(36, 80)
        }
    } else if s.spouse {
        rng.range(45, 85)
    } else {
        // Lone members are mostly elderly.
        rng.range(45, 90).max(rng.range(45, 90))
    };
    let female_head_per_10k = match (s.spouse, s.children + s.grandchildren + s.parents) {
        (false, 0) => 3500,
        (false, _) => 4500,
        _ => 800,
    };
    let head_male = !rng.chance(female_head_per_10k);
    let mut n = 0;
    let mut push = |p: Person| {
        out[n] = p;
        n += 1;
    };
    push(Person::new(Relation::Head, head_male, head_age));
    if s.spouse {
        let age = if head_male {
            (head_age + rng.range(-6, 1)).max(18)
        } else {
            head_age + rng.range(0, 5)
        };
        push(Person::new(Relation::Spouse, !head_male, age));
    }
    // Children: the first born when the head was 21–30 (adults when there are
    // grandchildren), the next ones 1–4 years apart.
    let mut child_age = if with_grandchildren {
        head_age - rng.range(22, 29)
    } else {
        (head_age - rng.range(21, 30)).max(0)
    };
    let oldest_child = child_age;
    for i in 0..s.children {
        if i > 0 {
            let gap = rng.range(1, 4);
            child_age = if with_grandchildren {
                (child_age - gap).max(18)
            } else {
                (child_age - gap).max(0)
            };
        }
        let male = rng.chance(5200);
        let rel = if male {
            Relation::Son
        } else {
            Relation::Daughter
        };
        push(Person::new(rel, male, child_age));
    }
    // Grandchildren of an adult child: 0–15, born when that child was at least 20.
    let max_grandchild = (oldest_child - 20).clamp(0, 15);
    for _ in 0..s.grandchildren {
        let male = rng.chance(5200);
        let rel = if male {
            Relation::Grandson
        } else {
            Relation::Granddaughter
        };
        push(Person::new(rel, male, rng.range(0, max_grandchild)));
    }
    // Parents of the head: a mother alone more often than a father alone.
    if s.parents == 2 {
        let mother = (head_age + rng.range(22, 32)).min(95);
        push(Person::new(Relation::Mother, false, mother));
        push(Person::new(
            Relation::Father,
            true,
            (mother + rng.range(0, 4)).min(96),
        ));
    } else if s.parents == 1 {
        let male = rng.chance(3500);
        let rel = if male {
            Relation::Father
        } else {
            Relation::Mother
        };
        push(Person::new(
            rel,
            male,
            (head_age + rng.range(22, 34)).min(96),
        ));
    }
    debug_assert_eq!(n, size);
}

/// Rates that depend on whether the household has exited (per 10,000).
#[derive(Clone, Copy)]
pub struct MemberRates {
    /// A child of compulsory-school age (6–15) out of school (失学/辍学).
    pub out_of_school: u32,
    /// A member without basic medical insurance.
    pub uninsured: u32,
}

/// Schooling, health, capacity to work, insurance and military service, by age.
pub fn draw_attributes(rng: &mut Rng, p: &mut Person, rates: MemberRates) {
    use school::{COLLEGE, HIGH, HIGHER_VOCATIONAL, NOT_STUDENT, PRESCHOOL, VOCATIONAL};
    let age = i64::from(p.age);
    // Health first: a disabled child may be taught at home or exempt from school.
    p.health = draw_health(rng, age);
    p.schooling = match age {
        0..=2 => NOT_STUDENT,
        3..=5 => {
            if rng.chance(8500) {
                PRESCHOOL
            } else {
                NOT_STUDENT
            }
        }
        6..=15 => compulsory_schooling(rng, p, rates),
        16..=17 => {
            let g = (age - 15) as usize; // grade index 1..2 (二/三年级)
            rng.pick(&[(HIGH[g], 50), (VOCATIONAL[g], 28), (NOT_STUDENT, 22)])
        }
        18 => rng.pick(&[
            (HIGH[2], 20),
            (VOCATIONAL[2], 8),
            (COLLEGE, 20),
            (HIGHER_VOCATIONAL[0], 12),
            (NOT_STUDENT, 40),
        ]),
        19..=21 => {
            let g = (age - 18) as usize;
            rng.pick(&[
                (COLLEGE, 28),
                (HIGHER_VOCATIONAL[g.min(2)], 14),
                (NOT_STUDENT, 58),
            ])
        }
        22 => rng.pick(&[(COLLEGE, 18), (NOT_STUDENT, 82)]),
        _ => NOT_STUDENT,
    };
    let student = p.schooling != NOT_STUDENT;
    p.labor = draw_labor(rng, age, p.health, student);
    // A few young adults serve in the army; their medical care is the army's.
    let military_per_10k = match (age, p.male) {
        (18..=28, true) => 150,
        (18..=28, false) => 10,
        _ => 0,
    };
    p.military = !student && military_per_10k > 0 && rng.chance(military_per_10k);
    if p.military {
        p.labor = Labor::Ordinary;
        p.health = Health::Healthy;
        p.insured = rng.chance(5000);
    } else {
        // Newborns are the commonest gap: enrolment follows birth registration.
        let gap = if age == 0 {
            rates.uninsured * 4
        } else {
            rates.uninsured
        };
        p.insured = !rng.chance(gap);
    }
}

fn compulsory_schooling(rng: &mut Rng, p: &mut Person, rates: MemberRates) -> &'static str {
    use school::{
        DROPPED_OUT, HIGH, HOME_TEACHING, JUNIOR, OUT_OF_SCHOOL, PRESCHOOL, PRIMARY, UNFIT,
        VOCATIONAL,
    };
    let age = i64::from(p.age);
    if p.health == Health::Disabled {
        // Disabled children: most in school, some taught at home, some exempt.
        match rng.below(10) {
            0..=3 => return HOME_TEACHING,
            4..=6 => return UNFIT,
            _ => {}
        }
    }
    if rng.chance(rates.out_of_school) {
        return if age <= 11 {
            OUT_OF_SCHOOL
        } else {
            DROPPED_OUT
        };
    }
    match age {
        6 if rng.chance(1000) => PRESCHOOL,
        6..=11 => PRIMARY[(age - 6) as usize],
        12..=14 => JUNIOR[(age - 12) as usize],
        // At 15, most in the first year of upper secondary, some still in 九年级.
        _ => rng.pick(&[(HIGH[0], 55), (VOCATIONAL[0], 28), (JUNIOR[2], 17)]),
    }
}

fn draw_health(rng: &mut Rng, age: i64) -> Health {
    // Weights: healthy, chronic illness, serious illness, disabled. Illness is the most
    // common cause of poverty, so the registered are sicker than the population.
    let w: [u32; 4] = match age {
        0..=17 => [965, 12, 5, 18],
        18..=44 => [820, 80, 30, 70],
        45..=59 => [640, 210, 60, 90],
        _ => [440, 360, 80, 120],
    };
    [
        Health::Healthy,
        Health::Chronic,
        Health::SeriousIllness,
        Health::Disabled,
    ][rng.weighted(&w)]
}

fn draw_labor(rng: &mut Rng, age: i64, health: Health, student: bool) -> Labor {
    if age < 16 || student {
        return Labor::None;
    }
    let sick = matches!(health, Health::SeriousIllness | Health::Disabled);
    match age {
        16..=59 if sick => rng.pick(&[(Labor::Lost, 55), (Labor::Weak, 45)]),
        16..=59 if health == Health::Chronic => {
            rng.pick(&[(Labor::Weak, 55), (Labor::Ordinary, 45)])
        }
        16..=59 => rng.pick(&[
            (Labor::Ordinary, 74),
            (Labor::Skilled, 20),
            (Labor::Weak, 6),
        ]),
        60..=64 if sick => rng.pick(&[(Labor::Lost, 70), (Labor::Weak, 30)]),
        60..=64 => rng.pick(&[(Labor::Weak, 50), (Labor::Ordinary, 30), (Labor::None, 20)]),
        _ if sick => rng.pick(&[(Labor::Lost, 70), (Labor::None, 30)]),
        _ => rng.pick(&[(Labor::None, 50), (Labor::Lost, 20), (Labor::Weak, 30)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fupin_domain::values::Schooling;

    #[test]
    fn every_schooling_label_is_accepted() {
        use school::*;
        let mut all = vec![
            NOT_STUDENT,
            PRESCHOOL,
            COLLEGE,
            HOME_TEACHING,
            UNFIT,
            OUT_OF_SCHOOL,
            DROPPED_OUT,
        ];
        all.extend(PRIMARY);
        all.extend(JUNIOR);
        all.extend(HIGH);
        all.extend(VOCATIONAL);
        all.extend(HIGHER_VOCATIONAL);
        for l in all {
            assert!(Schooling::parse(l).is_some(), "{l}");
        }
    }

    #[test]
    fn families_are_consistent() {
        let mut rng = Rng::new(3);
        let mut out = [Person::EMPTY; 7];
        let mut total = 0;
        for _ in 0..20_000 {
            let size = draw_size(&mut rng);
            total += size;
            draw_family(&mut rng, size, &mut out);
            let head = out[0];
            assert_eq!(head.relation, Relation::Head);
            assert!(head.age >= 18);
            for p in &out[1..size] {
                assert_ne!(p.relation, Relation::Head);
                match p.relation {
                    Relation::Son | Relation::Daughter => assert!(p.age < head.age),
                    Relation::Father | Relation::Mother => assert!(p.age > head.age),
                    Relation::Grandson | Relation::Granddaughter => {
                        assert!(p.age + 35 <= head.age);
                    }
                    _ => {}
                }
            }
        }
        let mean = total as f64 / 20_000.0;
        assert!((3.2..3.6).contains(&mean), "{mean}");
    }
}
