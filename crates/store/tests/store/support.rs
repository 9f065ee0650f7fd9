//! Running each contract test on a fresh database of each backend (the shared
//! `fupin-test-support` makes them), and what the tests store: registers, accounts, a
//! small plan, steps on work items.

use chrono::NaiveDate;
use fupin_domain::plan::{Deadline, GapKind, KeyTask, Plan, UnitAssignment};
use fupin_domain::work_item::WorkAction;
use fupin_io::villages::{read_villages, Villages};
use fupin_io::{read_members, ReadOptions, Register};
use fupin_store::sqlx;
use fupin_store::{
    ActingUser, NewUser, PlanSource, RegisterMeta, Role, Step, Store, User, UserId, WorkItem,
    WorkItemId,
};
pub use fupin_test_support::{golden, golden_csv, line_3535};
use std::future::Future;

/// Run a contract test on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_sqlite(|store| store, test).await;
}

/// Run a contract test on a fresh PostgreSQL database, or say once that the PostgreSQL
/// half is skipped.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_postgres("fupin-store", |store| store, test).await;
}

/// The contract suite: each test once on SQLite and once on PostgreSQL (the tests are
/// the functions of the module that names them).
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_postgres(super::$name).await
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------
// Registers.

pub fn meta(file_name: &str, by: Option<UserId>) -> RegisterMeta {
    RegisterMeta {
        file_name: file_name.into(),
        sha256: "ab".repeat(32),
        year: 2018,
        line: line_3535(),
        imported_by: by,
    }
}

/// A generated register of `households` households (year 2018; names not kept) and its
/// villages file.
pub fn generated(households: u64, seed: u64) -> (Register, Villages) {
    let dir = tempfile::tempdir().unwrap();
    let opts = fupin_gen::GenOptions {
        households,
        seed,
        ..fupin_gen::GenOptions::default()
    };
    let s = fupin_gen::generate(&opts, dir.path()).unwrap();
    let register = read_members(&s.members_path, &ReadOptions::new(2018)).unwrap();
    let villages = read_villages(&s.villages_path, None, None).unwrap();
    (register, villages)
}

/// A generated register as the server imports it: names and relations kept.
pub fn generated_with_names(households: u64, seed: u64) -> (Register, Villages) {
    let dir = tempfile::tempdir().unwrap();
    let opts = fupin_gen::GenOptions {
        households,
        seed,
        ..fupin_gen::GenOptions::default()
    };
    let s = fupin_gen::generate(&opts, dir.path()).unwrap();
    let read = ReadOptions {
        member_texts: true,
        ..ReadOptions::new(2018)
    };
    let register = read_members(&s.members_path, &read).unwrap();
    let villages = read_villages(&s.villages_path, None, None).unwrap();
    (register, villages)
}

/// Run SQL on the store's own pool (for what the store has no method for, on purpose).
pub async fn execute(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
    })
}

// ---------------------------------------------------------------------------------------
// Accounts, the plan, work items.

pub const HOUSING_UNIT: &str = "县住建局";
pub const HOUSING_HOUSEHOLD: &str = "1409300102007";

/// An account with the test password.
pub async fn user(store: &Store, name: &str, role: Role) -> User {
    store
        .accounts()
        .create_user(
            &NewUser {
                username: name.into(),
                password: "测试密码-2018".into(),
                role,
            },
            None,
        )
        .await
        .unwrap()
}

/// An account of a unit's staff.
pub async fn unit_user(store: &Store, name: &str, unit: &str) -> User {
    user(store, name, Role::UnitStaff { unit: unit.into() }).await
}

fn task(no: u32, name: &str, leader: &str, unit: &str, owns: &[GapKind]) -> KeyTask {
    KeyTask {
        no,
        name: name.into(),
        leader: leader.into(),
        lead_unit: unit.into(),
        units: vec![UnitAssignment {
            unit: unit.into(),
            owner: format!("{unit}局长"),
        }],
        deadline: Deadline::Date(NaiveDate::from_ymd_opt(2018, 10, 31).unwrap()),
        owns: owns.to_vec(),
    }
}

/// A small plan: housing, employment (income, able to work), social security (income,
/// unable to work), water; nothing owns DATA or the village conditions.
pub fn small_plan() -> Plan {
    Plan {
        year: 2018,
        name: "2018年脱贫攻坚重点工作责任分解方案".into(),
        overall_post: "县委书记".into(),
        commander_post: "县长".into(),
        declared_tasks: Some(4),
        tasks: vec![
            task(
                4,
                "大力实施危房改造",
                "分管副县长",
                HOUSING_UNIT,
                &[GapKind::Housing],
            ),
            task(
                6,
                "加强饮水安全保障",
                "分管副县长",
                "县水利局",
                &[GapKind::Water],
            ),
            task(
                7,
                "大力实施兜底保障",
                "常务副县长",
                "县民政局",
                &[GapKind::IncomeNoLabor],
            ),
            task(
                8,
                "大力实施劳动力转移就业培训和职业培训教育",
                "常务副县长",
                "县人社局",
                &[GapKind::IncomeLabor, GapKind::Income],
            ),
        ],
    }
}

/// Where a test's plan came from.
pub fn plan_source() -> PlanSource {
    PlanSource {
        file_name: "plan.csv".into(),
        sha256: "cd".repeat(32),
        imported_by: None,
    }
}

/// The small plan, then the golden register (its gaps routed by the plan).
pub async fn plan_and_golden(store: &Store) -> fupin_store::Imported {
    store
        .plan()
        .import_plan(&small_plan(), &plan_source())
        .await
        .unwrap();
    let (register, villages) = golden();
    store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap()
}

/// A user acting without a leader's post.
pub fn acting(u: &User) -> ActingUser<'_> {
    ActingUser {
        user: u,
        post: None,
    }
}

/// A step with a note and nothing else.
pub fn step(action: WorkAction, note: &str) -> Step {
    Step {
        action,
        note: note.into(),
        percent: None,
        attachments: Vec::new(),
        close_override: None,
    }
}

/// 销号 by headquarters of an item whose gap still fails (强制销号, 无法整改).
pub fn overriding_close(note: &str) -> Step {
    Step {
        close_override: Some(fupin_domain::work_item::CloseOverride::CannotRectify),
        ..step(WorkAction::Close, note)
    }
}

/// A step that must be taken: the item after it.
pub async fn take_step(
    store: &Store,
    who: &User,
    id: WorkItemId,
    step: &Step,
    today: NaiveDate,
) -> WorkItem {
    store
        .work()
        .act_on_work_item(&acting(who), id, step, today)
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_else(|| panic!("item {id} in the scope of {}", who.username))
}
