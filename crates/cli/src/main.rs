//! `fupin`: the command line of fupin (扶贫) — read and check a county's register of poor
//! households, judge every household, village and the county against the exit standard.

mod assess_cmd;
mod gen_cmd;
mod integrity_cmd;
mod output;
mod plan_cmd;
mod projects_cmd;
mod refused;
mod sample_cmd;
mod server_cmd;
mod standards_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Many small allocations (one per household) and large block buffers across threads:
/// mimalloc handles both far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "fupin",
    version,
    about = "扶贫：建档立卡登记表核查与贫困退出评估"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by `assess` and `check`.
#[derive(clap::Args, Clone, Debug)]
pub struct RegisterArgs {
    /// Members file (CSV in UTF-8/GBK/GB18030, or XLSX): one row per registered member.
    pub members: PathBuf,
    /// Villages file (CSV or XLSX): population and conditions per administrative village.
    #[arg(long)]
    pub villages: Option<PathBuf>,
    /// Assessment year Y (ages are counted on 1 September of Y).
    #[arg(long)]
    pub year: i32,
    /// Text encoding of CSV files: auto, utf-8, gbk, gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// XLSX: the worksheet to read (the first by default).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Worker threads for reading (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Check the register and judge every household, village and the county.
    Assess {
        #[command(flatten)]
        register: RegisterArgs,
        /// Poverty line in yuan per person per year (overrides the standards table).
        #[arg(long)]
        line: Option<String>,
        /// Place (name or 6-digit administrative code) whose line applies.
        #[arg(long)]
        place: Option<String>,
        /// A standards file (年度, 地区, 标准, 来源) that overrides or adds lines.
        #[arg(long)]
        standards: Option<PathBuf>,
        /// Region for the incidence threshold: central (2%) or western (3%).
        #[arg(long, default_value = "central")]
        region: String,
        /// Folder for households.csv, households.jsonl, villages.csv, county.json, problems.csv.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check the register only and list its problems.
    Check {
        #[command(flatten)]
        register: RegisterArgs,
        /// Also write problems.csv into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the poverty lines fupin knows, per year and place, with their sources.
    Standards {
        /// A standards file that overrides or adds lines.
        #[arg(long)]
        standards: Option<PathBuf>,
    },
    /// Generate a synthetic county register (members and villages files).
    Gen(gen_cmd::GenArgs),
    /// A county the size of the seed county (20,000 households) in an SQLite file, one
    /// account per role, and the server on 127.0.0.1:8080 (--assess-only: files only).
    Demo(server_cmd::DemoArgs),
    /// Run the web server.
    Serve(server_cmd::ServeArgs),
    /// Create or update the database schema (and, with --runtime-role, the grants of the
    /// role the server runs as, on PostgreSQL).
    Migrate(integrity_cmd::MigrateArgs),
    /// Check the hash chains of the funds ledger and the audit log: exit 0 when whole,
    /// 1 with the first broken link.
    Verify(server_cmd::DbArgs),
    /// Import a register as a new version (refused whole when it has any error).
    Import(server_cmd::ImportArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(server_cmd::UserCommand),
    /// Check or show a responsibility plan file (责任分解方案).
    #[command(subcommand)]
    Plan(plan_cmd::PlanCommand),
    /// Check or import the project library (项目库).
    #[command(subcommand)]
    Projects(projects_cmd::ProjectsCommand),
    /// Record disbursements and reversals (资金拨付台账) and print the figures.
    #[command(subcommand)]
    Funds(projects_cmd::FundsCommand),
    /// Draw an inspection sample as inspectors draw it (seeded, reproducible): the sample
    /// list as XLSX and CSV for the field teams, and the plan, seed and design recorded.
    Sample(sample_cmd::SampleArgs),
    /// Estimate 错退率, 漏评率, 群众认可度 and 综合贫困发生率 from the field teams' results,
    /// with 95% intervals and pass or fail against each veto threshold.
    Estimate(sample_cmd::EstimateArgs),
    /// Forecast the sampled 错退率 from the register's own verdicts: the inspectors' draw
    /// simulated many times, and the chance of reaching 2%.
    Forecast(sample_cmd::ForecastArgs),
}

/// Keep freed memory mapped: block buffers and household fragments are freed and
/// allocated again all through a run, and returning them to the system made the kernel
/// zero the same pages over and over (a quarter of the run time at 10^6 households).
fn tune_allocator() {
    // `mi_option_purge_delay` is entry 15 of mimalloc's `mi_option_e` (v2 and v3 headers);
    // libmimalloc-sys does not name it. -1: never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide option before any thread is started.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Assess {
            register,
            line,
            place,
            standards,
            region,
            out,
        } => assess_cmd::assess(
            &register,
            &assess_cmd::AssessArgs {
                line,
                place,
                standards,
                region,
                out,
            },
        ),
        Command::Check { register, out } => assess_cmd::check(&register, out.as_deref()),
        Command::Standards { standards } => standards_cmd::run(standards.as_deref()),
        Command::Gen(args) => gen_cmd::run(&args),
        Command::Demo(args) if args.assess_only => gen_cmd::demo(&args),
        Command::Demo(args) => server_cmd::demo(&args),
        Command::Serve(args) => server_cmd::serve(&args),
        Command::Migrate(args) => integrity_cmd::migrate(&args),
        Command::Verify(args) => integrity_cmd::verify(&args),
        Command::Import(args) => server_cmd::import(&args),
        Command::User(cmd) => server_cmd::user(&cmd),
        Command::Plan(cmd) => plan_cmd::run(&cmd),
        Command::Projects(cmd) => projects_cmd::projects(&cmd),
        Command::Funds(cmd) => projects_cmd::funds(&cmd),
        Command::Sample(args) => sample_cmd::sample(&args),
        Command::Estimate(args) => sample_cmd::estimate_cmd(&args),
        Command::Forecast(args) => sample_cmd::forecast_cmd(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::from(1)
        }
    }
}
