//! The server side of the command line: `fupin serve`, `fupin migrate`, `fupin import`,
//! `fupin user add`, and `fupin demo` (a seed-county-sized register in an SQLite file,
//! one account per role, the server on 127.0.0.1:8080).
//!
//! Configuration comes, later ones winning, from defaults, a TOML file (`--config`, or
//! `FUPIN_CONFIG`), environment variables (`FUPIN_DB`, `FUPIN_ADDR`,
//! `FUPIN_SECURE_COOKIES`, `FUPIN_REGION`, `FUPIN_SESSION_HOURS`, `FUPIN_UPLOAD_DIR`,
//! `FUPIN_MAX_UPLOAD_MB`, `FUPIN_JOB_LEASE_SECONDS`) and the command line.
//!
//! Uploads wait in a private folder (0700): `upload_dir` when configured (created if
//! missing; an existing folder others can read is refused), else `fupin-uploads` beside
//! the SQLite file, else (PostgreSQL) `$XDG_DATA_HOME/fupin/uploads` or
//! `~/.local/share/fupin/uploads`.

use anyhow::{anyhow, bail, Context, Result};
use fupin_domain::access::{may, Action};
use fupin_domain::figures::Region;
use fupin_domain::standards::Standards;
use fupin_io::villages::read_villages;
use fupin_io::{read_members, ReadOptions};
use fupin_store::{NewUser, PlanSource, RegisterMeta, Role, Scope, Store, StoreError};
use fupin_web::import::{
    check_files, resolve_line, sha256_file, store_checked, Checked, ImportProgress, Upload,
};
use fupin_web::{AppState, Config};
use serde::Deserialize;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Database: sqlite://FILE or postgres://USER@HOST/DB (else FUPIN_DB, else the config file).
    #[arg(long)]
    pub db: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<String>,
    /// A TOML configuration file (keys: db, addr, secure_cookies, region, session_hours,
    /// upload_dir, max_upload_mb, escalate_minutes, job_lease_seconds; `[limits.<kind>]`
    /// tables, see docs/register-decisions.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Escalate overdue work items to their task's leader every N minutes (default 10;
    /// 0: never). Several servers on one PostgreSQL escalate each item once.
    #[arg(long)]
    pub escalate_minutes: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct DbArgs {
    /// Database: sqlite://FILE or postgres://USER@HOST/DB (else FUPIN_DB).
    #[arg(long)]
    pub db: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Members file (CSV in UTF-8/GBK/GB18030, or XLSX).
    pub file: PathBuf,
    /// Villages file (CSV or XLSX).
    #[arg(long)]
    pub villages: Option<PathBuf>,
    /// Assessment year Y.
    #[arg(long)]
    pub year: i32,
    /// Poverty line in yuan per person per year (else the built-in line of the year).
    #[arg(long)]
    pub line: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
    /// The account that imports (a headquarters admin).
    #[arg(long)]
    pub user: String,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; the password is read from stdin (first line) or --password-file.
    Add(UserAddArgs),
}

#[derive(clap::Args, Debug)]
pub struct UserAddArgs {
    /// Username.
    pub name: String,
    /// hq_admin, county_leader, unit_staff, township_staff, village_staff or inspector.
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub township: Option<String>,
    #[arg(long)]
    pub village: Option<String>,
    #[arg(long)]
    pub unit: Option<String>,
    /// A file whose first line is the password (else stdin).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// The TOML file's keys.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<String>,
    addr: Option<String>,
    secure_cookies: Option<bool>,
    region: Option<String>,
    session_hours: Option<i64>,
    upload_dir: Option<PathBuf>,
    max_upload_mb: Option<usize>,
    escalate_minutes: Option<u64>,
    job_lease_seconds: Option<u64>,
    /// `[limits.<kind>]` tables (kind: members, villages, plan, projects, disbursements,
    /// beneficiaries, inspection, standards).
    limits: Option<std::collections::BTreeMap<String, KindLimits>>,
}

/// One kind's limits in `fupin.toml`; unset keys keep the default.
#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct KindLimits {
    max_file_mb: Option<u64>,
    max_unpacked_mb: Option<u64>,
    max_ratio: Option<u64>,
    max_cells: Option<u64>,
    max_cell_chars: Option<usize>,
    max_header_chars: Option<usize>,
    max_record_kb: Option<usize>,
}

/// The limits of `[limits.<kind>]` and `FUPIN_LIMIT_<KIND>_<KEY>` (the environment wins)
/// over the defaults ([`fupin_io::Limits::default`]).
fn load_limits(
    file: Option<&std::collections::BTreeMap<String, KindLimits>>,
) -> Result<fupin_io::Limits> {
    let mut limits = fupin_io::Limits::default();
    if let Some(file) = file {
        for key in file.keys() {
            if !fupin_io::FileKind::ALL.iter().any(|k| k.key() == key) {
                bail!(
                    "配置 [limits.{key}] 无法识别；可用：{}",
                    fupin_io::FileKind::ALL
                        .map(fupin_io::FileKind::key)
                        .join("、")
                );
            }
        }
    }
    for kind in fupin_io::FileKind::ALL {
        let mut given = file
            .and_then(|f| f.get(kind.key()).copied())
            .unwrap_or_default();
        let var = |name: &str| {
            let full = format!("FUPIN_LIMIT_{}_{name}", kind.key().to_ascii_uppercase());
            env(&full).map(|v| {
                v.trim()
                    .parse::<u64>()
                    .with_context(|| format!("{full} 应为正整数"))
            })
        };
        macro_rules! from_env {
            ($field:ident, $name:literal) => {
                if let Some(v) = var($name) {
                    given.$field = Some(v?.try_into().context(concat!($name, " 过大"))?);
                }
            };
        }
        from_env!(max_file_mb, "MAX_FILE_MB");
        from_env!(max_unpacked_mb, "MAX_UNPACKED_MB");
        from_env!(max_ratio, "MAX_RATIO");
        from_env!(max_cells, "MAX_CELLS");
        from_env!(max_cell_chars, "MAX_CELL_CHARS");
        from_env!(max_header_chars, "MAX_HEADER_CHARS");
        from_env!(max_record_kb, "MAX_RECORD_KB");
        let l = limits.of_mut(kind);
        let positive = |v: u64, what: &str| {
            if v == 0 {
                bail!("limits.{}.{what} 应为正整数", kind.key());
            }
            Ok(v)
        };
        if let Some(v) = given.max_file_mb {
            l.max_file_bytes = positive(v, "max_file_mb")? << 20;
        }
        if let Some(v) = given.max_unpacked_mb {
            l.max_unpacked_bytes = positive(v, "max_unpacked_mb")? << 20;
        }
        if let Some(v) = given.max_ratio {
            l.max_ratio = positive(v, "max_ratio")?;
        }
        if let Some(v) = given.max_cells {
            l.max_cells = positive(v, "max_cells")?;
        }
        if let Some(v) = given.max_cell_chars {
            l.max_cell_chars = positive(v as u64, "max_cell_chars")? as usize;
        }
        if let Some(v) = given.max_header_chars {
            l.max_header_chars = positive(v as u64, "max_header_chars")? as usize;
        }
        if let Some(v) = given.max_record_kb {
            l.max_record_bytes = (positive(v as u64, "max_record_kb")? as usize) << 10;
        }
    }
    Ok(limits)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name}「{v}」应为 true 或 false"),
    }
}

fn parse_region(v: &str) -> Result<Region> {
    match v.trim() {
        "central" | "中部" | "东部" => Ok(Region::Central),
        "western" | "西部" => Ok(Region::Western),
        other => bail!("region「{other}」应为 central（2%）或 western（3%）"),
    }
}

/// Everything `fupin serve` needs.
pub struct ServeConfig {
    pub db: String,
    pub addr: String,
    pub web: Config,
    /// How often overdue items are escalated; None: never.
    pub escalate_every: Option<std::time::Duration>,
}

/// How often `fupin serve` escalates overdue items unless told otherwise.
const ESCALATE_MINUTES: u64 = 10;

fn load_config(args: &ServeArgs) -> Result<ServeConfig> {
    let path = args
        .config
        .clone()
        .or_else(|| env("FUPIN_CONFIG").map(PathBuf::from));
    let file: FileConfig = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("无法读取配置文件 {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("配置文件 {} 有误", p.display()))?
        }
        None => FileConfig::default(),
    };
    let mut web = Config::default();
    if let Some(b) = file.secure_cookies {
        web.secure_cookies = b;
    }
    if let Some(v) = env("FUPIN_SECURE_COOKIES") {
        web.secure_cookies = parse_bool("FUPIN_SECURE_COOKIES", &v)?;
    }
    if let Some(r) = env("FUPIN_REGION").or(file.region) {
        web.region = parse_region(&r)?;
    }
    let hours = match env("FUPIN_SESSION_HOURS") {
        Some(h) => Some(h.trim().parse().context("FUPIN_SESSION_HOURS 应为小时数")?),
        None => file.session_hours,
    };
    if let Some(h) = hours {
        if !(1..=24 * 30).contains(&h) {
            bail!("session_hours 应在 1 到 720 之间");
        }
        web.session_ttl = chrono::Duration::hours(h);
    }
    if let Some(d) = env("FUPIN_UPLOAD_DIR")
        .map(PathBuf::from)
        .or(file.upload_dir)
    {
        web.upload_dir = Some(d);
    }
    let lease = match env("FUPIN_JOB_LEASE_SECONDS") {
        Some(s) => Some(
            s.trim()
                .parse()
                .context("FUPIN_JOB_LEASE_SECONDS 应为秒数")?,
        ),
        None => file.job_lease_seconds,
    };
    if let Some(secs) = lease {
        if !(1..=3600).contains(&secs) {
            bail!("job_lease_seconds 应在 1 到 3600 之间（默认 30）");
        }
        web.job_lease = std::time::Duration::from_secs(secs);
    }
    let mb = match env("FUPIN_MAX_UPLOAD_MB") {
        Some(m) => Some(m.trim().parse().context("FUPIN_MAX_UPLOAD_MB 应为整数")?),
        None => file.max_upload_mb,
    };
    if let Some(mb) = mb {
        web.max_upload_bytes = mb << 20;
    }
    web.limits = load_limits(file.limits.as_ref())?;
    let db = args
        .db
        .clone()
        .or_else(|| env("FUPIN_DB"))
        .or(file.db)
        .ok_or_else(|| {
            anyhow!("请用 --db 指定数据库（sqlite://文件 或 postgres://…），或设置 FUPIN_DB")
        })?;
    let addr = args
        .addr
        .clone()
        .or_else(|| env("FUPIN_ADDR"))
        .or(file.addr)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let minutes = match (args.escalate_minutes, env("FUPIN_ESCALATE_MINUTES")) {
        (Some(m), _) => m,
        (None, Some(m)) => m
            .trim()
            .parse()
            .context("FUPIN_ESCALATE_MINUTES 应为分钟数（0 表示不自动升级）")?,
        (None, None) => file.escalate_minutes.unwrap_or(ESCALATE_MINUTES),
    };
    let escalate_every = (minutes > 0).then(|| std::time::Duration::from_secs(minutes * 60));
    web.upload_dir = Some(upload_folder(&db, web.upload_dir.take())?);
    Ok(ServeConfig {
        db,
        addr,
        web,
        escalate_every,
    })
}

/// The private folder uploads wait in (see the module's documentation), prepared.
fn upload_folder(db: &str, configured: Option<PathBuf>) -> Result<PathBuf> {
    let folder = match configured {
        Some(d) => d,
        None => match sqlite_file(db) {
            Some(file) => file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("fupin-uploads"),
            None => env("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .map(|d| d.join("fupin").join("uploads"))
                .ok_or_else(|| {
                    anyhow!("没有存放上传文件的目录：请用 upload_dir 或 FUPIN_UPLOAD_DIR 指定一个 fupin 专用的目录")
                })?,
        },
    };
    fupin_web::import::prepare_upload_folder(&folder).map_err(|m| anyhow!(m))?;
    Ok(folder)
}

/// The file of an `sqlite://FILE` URL (None for PostgreSQL or an in-memory database).
fn sqlite_file(db: &str) -> Option<PathBuf> {
    let rest = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

pub(crate) fn db_url(args: &DbArgs) -> Result<String> {
    args.db.clone().or_else(|| env("FUPIN_DB")).ok_or_else(|| {
        anyhow!("请用 --db 指定数据库（sqlite://文件 或 postgres://…），或设置 FUPIN_DB")
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("无法启动异步运行时")
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .try_init();
}

pub(crate) async fn open(url: &str) -> Result<Store> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Scheduled escalation (issue 5): every `every`, the items still with their unit after
/// their deadline (today in UTC+8) are escalated to their task's leader by the system,
/// once per deadline. Safe with several servers on one PostgreSQL: the store takes an
/// advisory lock and skips locked rows, so each item is escalated once.
async fn escalate_periodically(store: Store, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store
            .work()
            .escalate_overdue_as_system(fupin_store::today())
            .await
        {
            Ok(0) => {}
            Ok(n) => {
                println!("已将 {n} 个逾期事项升级至责任领导督办");
                let _ = std::io::stdout().flush();
            }
            Err(e) => eprintln!("定时升级督办未完成（下次再试）：{e}"),
        }
    }
}

async fn run_server(
    store: Store,
    addr: &str,
    web: Config,
    escalate_every: Option<std::time::Duration>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("无法监听 {addr}（端口被占用？用 --addr 换一个）"))?;
    let local = listener.local_addr()?;
    // What a stopped server left (its jobs, staging tables, uploads), before answering.
    let state = AppState::new(store.clone(), web.clone());
    fupin_web::start(&state).await;
    println!("fupin 服务已启动：http://{local}/  （按 Ctrl-C 停止）");
    let _ = std::io::stdout().flush();
    // Villages' INCIDENCE gaps are judged against the region's threshold.
    store
        .work()
        .set_incidence_threshold(web.region.threshold_bp())
        .await?;
    if let Some(every) = escalate_every {
        tokio::spawn(escalate_periodically(store.clone(), every));
    }
    fupin_web::serve(listener, state).await?;
    Ok(())
}

/// `fupin serve`
pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    init_logging();
    let cfg = load_config(args)?;
    runtime()?.block_on(async {
        let store = open(&cfg.db).await?;
        println!("数据库：{}", store.backend());
        run_server(store, &cfg.addr, cfg.web, cfg.escalate_every).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `fupin import`: the same checks as the web upload; all or nothing. Exit 2 with every
/// problem on stderr when the file is refused.
pub fn import(args: &ImportArgs) -> Result<ExitCode> {
    let url = db_url(&args.db)?;
    let line = match resolve_line(args.year, args.line.as_deref()) {
        Ok(l) => l,
        Err(m) => {
            eprintln!("错误：{m}");
            return Ok(ExitCode::from(2));
        }
    };
    runtime()?.block_on(async {
        let store = open(&url).await?;
        let user = store
            .accounts()
            .users()
            .await?
            .into_iter()
            .find(|u| u.username == args.user)
            .ok_or_else(|| anyhow!("没有用户「{}」：先用 fupin user add 创建", args.user))?;
        if may(user.role.actor(None), Action::Administer).is_err() {
            bail!(
                "用户「{}」是{}，只有指挥部管理员（hq_admin）可以导入登记表",
                user.username,
                user.role.chinese()
            );
        }
        let name = |p: &Path| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        let members_name = name(&args.file);
        let villages_name = args.villages.as_deref().map(name);
        let m = Upload {
            path: &args.file,
            name: &members_name,
        };
        let v = args
            .villages
            .as_deref()
            .zip(villages_name.as_deref())
            .map(|(path, name)| Upload { path, name });
        let size = std::fs::metadata(&args.file).map_or(0, |m| m.len());
        let progress = Arc::new(ImportProgress::new(size));
        let shown = ShownProgress::start(&progress);
        let clock = StepClock::start(&progress);
        let read = Some(Arc::clone(&progress.read));
        let checked = tokio::task::block_in_place(|| {
            check_files(
                &m,
                v.as_ref(),
                args.year,
                read,
                &fupin_io::Limits::default(),
            )
        });
        let checked_at = std::time::Instant::now();
        let (register, villages, warnings) = match checked {
            Checked::Rejected { summary, problems } => {
                drop(shown);
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("错误：{summary}");
                return Ok(ExitCode::from(2));
            }
            Checked::Good {
                register,
                villages,
                warnings,
            } => (register, villages, warnings),
        };
        let meta = RegisterMeta {
            file_name: members_name.clone(),
            sha256: sha256_file(&args.file)
                .with_context(|| format!("无法读取 {}", args.file.display()))?,
            year: args.year,
            line,
            imported_by: Some(user.id),
        };
        let stored = Some(&progress.stored);
        let outcome =
            store_checked(&store, &register, villages.as_ref(), &meta, stored, None).await;
        drop(shown);
        let times = clock.stop(checked_at);
        match outcome {
            Ok(imported) => {
                println!(
                    "已导入「{}」为登记表版本 {}：{} 户 {} 人，警告 {} 个",
                    members_name, imported.version, imported.households, imported.members, warnings
                );
                eprintln!("{times}");
                // The planner's statistics of the new version, before the command returns.
                let started = std::time::Instant::now();
                store.import().analyze_register().await?;
                eprintln!(
                    "已更新查询统计信息：{:.1} 秒",
                    started.elapsed().as_secs_f64()
                );
                store.close().await;
                Ok(ExitCode::SUCCESS)
            }
            Err(StoreError::Refused { reason, problems }) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("错误：{reason}");
                Ok(ExitCode::from(2))
            }
            Err(e) => Err(e.into()),
        }
    })
}

fn read_password(file: Option<&Path>) -> Result<String> {
    let line = match file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("无法读取密码文件 {}", p.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!("请输入密码（至少 8 个字符）：");
                let _ = std::io::stderr().flush();
            }
            let mut s = String::new();
            stdin
                .lock()
                .read_line(&mut s)
                .context("无法从标准输入读取密码")?;
            s
        }
    };
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("密码为空：请从标准输入或 --password-file 提供密码");
    }
    Ok(p)
}

/// `fupin user add`
pub fn user(cmd: &UserCommand) -> Result<ExitCode> {
    let UserCommand::Add(args) = cmd;
    let role = match Role::parse(
        &args.role,
        args.township.as_deref(),
        args.village.as_deref(),
        args.unit.as_deref(),
    ) {
        Ok(r) => r,
        Err(m) => {
            eprintln!("错误：{m}");
            return Ok(ExitCode::from(2));
        }
    };
    let url = db_url(&args.db)?;
    let password = read_password(args.password_file.as_deref())?;
    runtime()?.block_on(async {
        let store = open(&url).await?;
        let new = NewUser {
            username: args.name.clone(),
            password,
            role,
        };
        match store.accounts().create_user(&new, None).await {
            Ok(u) => {
                println!("已创建账号「{}」（{}）", u.username, u.role.chinese());
                store.close().await;
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ (StoreError::UsernameTaken(_) | StoreError::InvalidAccount(_))) => {
                eprintln!("错误：{e}");
                Ok(ExitCode::from(2))
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// An import's percentage on a terminal's stderr, once a second, until dropped (nothing
/// when stderr is not a terminal: scripts and tests read problems from it).
struct ShownProgress {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ShownProgress {
    fn start(progress: &Arc<ImportProgress>) -> ShownProgress {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (stop, progress) = (Arc::clone(&stop), Arc::clone(progress));
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    eprint!("\r导入进度 {:>3}%", progress.percent());
                }
                eprintln!();
            })
        });
        ShownProgress { stop, thread }
    }
}

/// When each of the store's import steps ended, seen by polling the progress every 10 ms:
/// how long `fupin import` spent reading, assessing, writing the register, deriving and
/// routing the gaps, and committing (printed to stderr after an import).
struct StepClock {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(u32, std::time::Instant)>>,
    start: std::time::Instant,
}

impl StepClock {
    fn start(progress: &Arc<ImportProgress>) -> StepClock {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, p) = (Arc::clone(&stop), Arc::clone(progress));
        let thread = std::thread::spawn(move || {
            let mut seen: Vec<(u32, std::time::Instant)> = Vec::new();
            loop {
                let step = p.stored.load(std::sync::atomic::Ordering::Relaxed);
                if seen.last().is_none_or(|l| l.0 != step) {
                    seen.push((step, std::time::Instant::now()));
                }
                if s.load(std::sync::atomic::Ordering::Relaxed) {
                    return seen;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        StepClock {
            stop,
            thread,
            start: std::time::Instant::now(),
        }
    }

    /// "用时：…" with the phases' seconds; `checked_at`: when reading and checking ended.
    fn stop(self, checked_at: std::time::Instant) -> String {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let end = std::time::Instant::now();
        let seen = self.thread.join().unwrap_or_default();
        // The first moment a step count was reached (or passed).
        let at = |step: u32| {
            seen.iter()
                .find(|(s, _)| *s >= step)
                .map_or(end, |(_, t)| *t)
        };
        let secs = |a: std::time::Instant, b: std::time::Instant| {
            format!("{:.1}", b.saturating_duration_since(a).as_secs_f64())
        };
        let last = fupin_store::IMPORT_STEPS;
        format!(
            "用时：读取与检查 {} 秒，评估与准备 {} 秒，写入登记表 {} 秒，生成并分派短板 {} 秒，提交 {} 秒，共 {} 秒",
            secs(self.start, checked_at),
            secs(checked_at, at(2)),
            secs(at(2), at(last - 2)),
            secs(at(last - 2), at(last - 1)),
            secs(at(last - 1), at(last)),
            secs(self.start, end),
        )
    }
}

impl Drop for ShownProgress {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The demo.

/// The password of every demo account, printed when the demo starts.
pub const DEMO_PASSWORD: &str = "fupin-demo-2018";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo register, its results and the database.
    #[arg(long, default_value = "fupin-demo")]
    pub dir: PathBuf,
    /// Only generate and assess to files (no database, no server), as before.
    #[arg(long)]
    pub assess_only: bool,
    /// Address for the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
}

/// The post of the demo's county leader account: 责任领导 of the demo plan's housing task.
const DEMO_LEADER_POST: &str = "分管城建副县长";

/// The demo plan (the seed county's 2018 plan, embedded), when the database has no 2018
/// plan yet; an existing 2018 register's gaps are routed by it in the same transaction.
/// It is loaded as if issued on `today`, the day the demo database is made: its dated
/// deadlines keep their distance from 1 January 2018, counted from `today`
/// (`Plan::issued_on`), so the demo starts with its work due in the months ahead, not
/// every item years overdue and escalated by the first run (docs/plan-decisions.md).
async fn load_demo_plan(store: &Store, today: chrono::NaiveDate) -> Result<()> {
    if store.plan().current_plan(Some(2018)).await?.is_some() {
        return Ok(());
    }
    let plan = fupin_io::plan_file::demo_plan_2018()?.plan.issued_on(today);
    let sha256 = fupin_web::tasks::sha256_hex(fupin_io::plan_file::DEMO_PLAN_2018_CSV.as_bytes());
    let rev = store
        .plan()
        .import_plan(
            &plan,
            &PlanSource {
                file_name: "demo-plan-2018.csv".into(),
                sha256,
                imported_by: None,
            },
        )
        .await?;
    println!(
        "已载入演示责任分解方案：{} 年第 {} 版，{} 项重点工作（完成时限自今日 {today} 起按原方案顺延）",
        rev.year, rev.revision, rev.tasks
    );
    Ok(())
}

/// The demo's project library (docs/projects-and-funds.md), when the database has no
/// project yet: in each of the first four townships a housing project of 县住建局 (the demo
/// unit account's, serving 任务 4) being implemented and a PV station of 县能源局 approved,
/// the housing money disbursed at different paces, and the county's behind-schedule rule
/// "by 2018-06-30 at least 50%" — so that the pages, figures and six-in-place panel have
/// something to show. Recorded through the store as headquarters would, audited.
async fn load_demo_projects(
    store: &Store,
    admin: &fupin_store::User,
    townships: &[String],
) -> Result<()> {
    use fupin_domain::funds::{Budget, EntryKind, FundSource, Project, ProjectType, Stage};
    use fupin_domain::Fen;
    if !store
        .funds()
        .projects(&fupin_store::ItemScope::All)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let date = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(2018, m, d);
    let mut library = Vec::new();
    for (i, t) in townships.iter().take(4).enumerate() {
        let line = 2 * i as u64 + 2;
        library.push((
            line,
            Project {
                name: format!("{t}危房改造"),
                year: 2018,
                kind: ProjectType::Housing,
                township: t.clone(),
                village: None,
                task_no: Some(4),
                unit: "县住建局".into(),
                budget: Budget::default()
                    .with(FundSource::Central, Fen::from_yuan(600_000))
                    .with(FundSource::County, Fen::from_yuan(150_000)),
                stage: Stage::Implementing,
                planned_start: date(3, 1),
                planned_end: date(10, 31),
                actual_start: date(3, 15),
                actual_end: None,
            },
        ));
        library.push((
            line + 1,
            Project {
                name: format!("{t}光伏扶贫电站"),
                year: 2018,
                kind: ProjectType::Photovoltaic,
                township: t.clone(),
                village: None,
                task_no: None,
                unit: "县能源局".into(),
                budget: Budget::default()
                    .with(FundSource::Central, Fen::from_yuan(800_000))
                    .with(FundSource::Integrated, Fen::from_yuan(200_000)),
                stage: Stage::Approved,
                planned_start: date(5, 1),
                planned_end: date(12, 31),
                actual_start: None,
                actual_end: None,
            },
        ));
    }
    if let Err(problems) = store
        .funds()
        .import_projects("demo-projects-2018.csv", &library, Some(admin.id))
        .await?
    {
        bail!("演示项目库未能导入：{problems:?}");
    }
    let projects = store.funds().projects(&fupin_store::ItemScope::All).await?;
    // The housing projects' money, from the central budget: 70%, 55%, 20% of the whole
    // budget and nothing by June.
    for (i, share) in [70i64, 55, 20].iter().enumerate() {
        let Some((_, p)) = library.get(2 * i) else {
            continue;
        };
        let Some(stored) = projects.iter().find(|s| s.project.name == p.name) else {
            continue;
        };
        let entry = fupin_store::NewFundEntry {
            date: date(4, 10 + i as u32).unwrap_or_default(),
            source: FundSource::Central,
            amount: Fen::new(750_000 * 100 * share / 100),
            voucher: format!("记-2018-04-{:02}", 10 + i),
            payee: format!("{}建筑工程队", p.township),
            note: "首期拨付".into(),
        };
        if let Err(r) = store
            .funds()
            .add_fund_entry(admin, stored.id, EntryKind::Disbursement, &entry, None)
            .await?
        {
            bail!("演示拨付未能登记：{r}");
        }
    }
    if let Some(by) = date(6, 30) {
        let rule = fupin_domain::funds::ScheduleRule { by, min_bp: 5000 };
        if let Err(r) = store.funds().set_schedule_rule(admin, Some(rule)).await? {
            bail!("演示进度规则未能设置：{r}");
        }
    }
    Ok(())
}

/// `fupin plan import`: the plan file checked as `fupin plan check` does (every problem
/// printed, nothing stored when there is an error), stored as the next revision of its
/// year's plan, and the current register's gaps routed by it.
pub fn plan_import(args: &crate::plan_cmd::PlanArgs, db: &DbArgs, user: &str) -> Result<ExitCode> {
    let url = db_url(db)?;
    let read = match crate::plan_cmd::read(args) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    for p in &read.warnings {
        println!("{p}");
    }
    let file_name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let sha256 =
        sha256_file(&args.file).with_context(|| format!("无法读取 {}", args.file.display()))?;
    runtime()?.block_on(async {
        let store = open(&url).await?;
        let account = store
            .accounts()
            .users()
            .await?
            .into_iter()
            .find(|u| u.username == user)
            .ok_or_else(|| anyhow!("没有用户「{user}」：先用 fupin user add 创建"))?;
        if may(account.role.actor(None), Action::Administer).is_err() {
            bail!(
                "用户「{}」是{}，只有指挥部管理员（hq_admin）可以导入责任分解方案",
                account.username,
                account.role.chinese()
            );
        }
        let (rev, routed) = store
            .plan()
            .import_plan_and_route(
                &read.plan,
                &PlanSource {
                    file_name: file_name.clone(),
                    sha256,
                    imported_by: Some(account.id),
                },
            )
            .await?;
        println!(
            "已导入「{file_name}」为 {} 年责任分解方案第 {} 版：{} 项重点工作",
            rev.year, rev.revision, rev.tasks
        );
        if let Some(r) = routed {
            println!(
                "已按新方案分派当前登记表（版本 {}）的短板：未整改 {} 个，其中待指挥部分派 {} 个",
                r.version, r.found, r.unrouted
            );
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `fupin demo`: the seed-county-sized register in fupin-demo/fupin.db, one account per
/// role, and the server.
pub fn demo(args: &DemoArgs) -> Result<ExitCode> {
    init_logging();
    let (members, villages) = crate::gen_cmd::ensure_demo_register(&args.dir)?;
    let db = args.dir.join("fupin.db");
    let url = format!("sqlite://{}", db.display());
    runtime()?.block_on(async {
        let store = open(&url).await?;
        store
            .work()
            .set_incidence_threshold(Config::default().region.threshold_bp())
            .await?;
        load_demo_plan(&store, fupin_store::today()).await?;
        if store.register().current_version().await?.is_none() {
            println!("正在载入虚拟登记表到 {} ……", db.display());
            let year = 2018;
            let line = Standards::builtin()
                .lookup(year, None)
                .cloned()
                .ok_or_else(|| anyhow!("没有 {year} 年的贫困标准"))?;
            let (register, vill) = tokio::task::block_in_place(|| {
                let mut opts = ReadOptions::new(year);
                opts.member_texts = true;
                let r = read_members(&members, &opts)?;
                let v = read_villages(&villages, None, None)?;
                Ok::<_, fupin_io::FileError>((r, v))
            })?;
            // The demo register carries the generator's injected data errors on purpose,
            // so that the problems page has something to show; `fupin import` and the
            // upload page refuse such a file.
            let meta = RegisterMeta {
                file_name: "members.csv".into(),
                sha256: sha256_file(&members)?,
                year,
                line,
                imported_by: None,
            };
            let imported = store
                .import()
                .import_register(&register, &meta, Some(&vill))
                .await?;
            println!(
                "已载入登记表版本 {}：{} 户 {} 人",
                imported.version, imported.households, imported.members
            );
        } else {
            println!("使用已有的数据库 {}", db.display());
        }
        let township = store
            .register()
            .townships(&Scope::County)
            .await?
            .into_iter()
            .next()
            .and_then(|t| t.township)
            .ok_or_else(|| anyhow!("演示数据库中没有乡镇"))?;
        let village = store
            .register()
            .villages(&Scope::County, &township)
            .await?
            .into_iter()
            .next()
            .and_then(|v| v.village)
            .ok_or_else(|| anyhow!("演示数据库中没有行政村"))?;
        let accounts = [
            ("admin", Role::HqAdmin),
            ("leader", Role::CountyLeader),
            (
                "unit",
                Role::UnitStaff {
                    unit: "县住建局".into(),
                },
            ),
            (
                "township",
                Role::TownshipStaff {
                    township: township.clone(),
                },
            ),
            (
                "village",
                Role::VillageStaff {
                    township: township.clone(),
                    village: village.clone(),
                },
            ),
            ("inspector", Role::Inspector),
        ];
        let existing = store.accounts().users().await?;
        for (name, role) in &accounts {
            if existing.iter().any(|u| u.username == *name) {
                continue;
            }
            let made = store
                .accounts()
                .create_user(
                    &NewUser {
                        username: (*name).into(),
                        password: DEMO_PASSWORD.into(),
                        role: role.clone(),
                    },
                    None,
                )
                .await?;
            if *role == Role::CountyLeader {
                // The demo leader holds the post that leads the housing task (任务 4).
                store
                    .plan()
                    .set_leader_post(made.id, Some(DEMO_LEADER_POST), None)
                    .await?;
            }
        }
        if let Some(admin) = store
            .accounts()
            .users()
            .await?
            .into_iter()
            .find(|u| u.username == "admin" && u.role == Role::HqAdmin)
        {
            let townships: Vec<String> = store
                .register()
                .townships(&Scope::County)
                .await?
                .into_iter()
                .filter_map(|t| t.township)
                .collect();
            load_demo_projects(&store, &admin, &townships).await?;
        }
        println!();
        println!("演示账号（密码均为 {DEMO_PASSWORD}）：");
        for (name, role) in &accounts {
            let (t, v, u) = role.names();
            let area = [t, v, u]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            println!(
                "  {name:<10} {}{}",
                role.chinese(),
                if area.is_empty() {
                    String::new()
                } else {
                    format!("（{area}）")
                }
            );
        }
        println!();
        let web = Config {
            upload_dir: Some(upload_folder(&url, None)?),
            ..Config::default()
        };
        run_server(
            store,
            &args.addr,
            web,
            Some(std::time::Duration::from_secs(ESCALATE_MINUTES * 60)),
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// `[limits.<kind>]` in fupin.toml changes that kind's limits only; an unknown kind or
    /// key, or a zero, is refused.
    #[test]
    fn limits_come_from_the_config_file() {
        let file: FileConfig = toml::from_str(
            "[limits.members]\nmax_file_mb = 4096\nmax_cell_chars = 1000\n[limits.plan]\nmax_record_kb = 64\n",
        )
        .unwrap();
        let limits = load_limits(file.limits.as_ref()).unwrap();
        let defaults = fupin_io::Limits::default();
        assert_eq!(limits.members.max_file_bytes, 4096 << 20);
        assert_eq!(limits.members.max_cell_chars, 1000);
        assert_eq!(limits.members.max_cells, defaults.members.max_cells);
        assert_eq!(limits.plan.max_record_bytes, 64 << 10);
        assert_eq!(limits.villages, defaults.villages);
        let unknown: FileConfig = toml::from_str("[limits.register]\nmax_cells = 5\n").unwrap();
        let e = load_limits(unknown.limits.as_ref())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[limits.register]") && e.contains("members"),
            "{e}"
        );
        assert!(toml::from_str::<FileConfig>("[limits.members]\nmax_rows = 5\n").is_err());
        let zero: FileConfig = toml::from_str("[limits.members]\nmax_ratio = 0\n").unwrap();
        assert!(load_limits(zero.limits.as_ref()).is_err());
    }

    /// The demo's plan is due after the demo starts (docs/plan-decisions.md, "The demo
    /// plan"): the golden register routed by the demo plan loaded years after 2018 has
    /// work items, none overdue, and the first escalation run escalates nothing; they
    /// fall due as the plan's did — 任务 10's (2018-06-30, day 180) first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_plan_falls_due_after_the_demo_starts() {
        fupin_test_support::on_sqlite(
            |store| store,
            |store| async move {
                let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
                load_demo_plan(&store, today).await.unwrap();
                let (register, villages) = fupin_test_support::golden();
                let meta = RegisterMeta {
                    file_name: "members.csv".into(),
                    sha256: "ab".repeat(32),
                    year: 2018,
                    line: fupin_test_support::line_3535(),
                    imported_by: None,
                };
                store
                    .import()
                    .import_register(&register, &meta, Some(&villages))
                    .await
                    .unwrap();
                let items = store
                    .work()
                    .work_items(&fupin_store::ItemScope::All, &Default::default(), None, 500)
                    .await
                    .unwrap()
                    .items;
                assert!(items.len() > 3, "{}", items.len());
                assert!(items.iter().all(|i| !i.overdue(today)));
                assert_eq!(
                    store
                        .work()
                        .escalate_overdue_as_system(today)
                        .await
                        .unwrap(),
                    0
                );
                let plan = store
                    .plan()
                    .current_plan(Some(2018))
                    .await
                    .unwrap()
                    .unwrap()
                    .plan;
                assert_eq!(plan.year, 2018);
                let first = plan.tasks.iter().filter_map(|t| t.deadline.date()).min();
                assert_eq!(first, NaiveDate::from_ymd_opt(2027, 5, 28));
                // Loaded once: a later start keeps the deadlines the demo began with.
                load_demo_plan(&store, today + chrono::Days::new(400))
                    .await
                    .unwrap();
                assert_eq!(store.plan().plan_revisions().await.unwrap().len(), 1);
                // Once a deadline passes, the system escalates as in any county.
                let later = NaiveDate::from_ymd_opt(2028, 1, 1).unwrap();
                assert!(
                    store
                        .work()
                        .escalate_overdue_as_system(later)
                        .await
                        .unwrap()
                        > 0
                );
            },
        )
        .await;
    }

    /// The demo's project library: two projects in each of four townships, the housing
    /// money disbursed at different paces, the county's rule set; loaded once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_has_a_project_library_with_money_behind_and_on_schedule() {
        fupin_test_support::on_sqlite(
            |store| store,
            |store| async move {
                let admin = store
                    .accounts()
                    .create_user(
                        &NewUser {
                            username: "admin".into(),
                            password: DEMO_PASSWORD.into(),
                            role: Role::HqAdmin,
                        },
                        None,
                    )
                    .await
                    .unwrap();
                let towns: Vec<String> = ["一乡", "二镇", "三乡", "四镇", "五乡"]
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect();
                load_demo_projects(&store, &admin, &towns).await.unwrap();
                load_demo_projects(&store, &admin, &towns).await.unwrap();
                let all = fupin_store::ItemScope::All;
                assert_eq!(store.funds().projects(&all).await.unwrap().len(), 8);
                let rule = store.funds().schedule_rule().await.unwrap().unwrap();
                let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
                let six = store
                    .funds()
                    .funds_in_place(&all, Some(rule), today)
                    .await
                    .unwrap();
                // 20% and nothing (housing), and the four PV stations: behind.
                assert_eq!(six.behind, 6);
                assert_eq!(six.disbursed, fupin_domain::Fen::from_yuan(1_087_500));
            },
        )
        .await;
    }
}
