//! The audit log (审计日志): every write, who, when and what, newest first.

use super::PAGE;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_store::AuditEntry;
use serde::Deserialize;

pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub entity: String,
    pub before: String,
    pub after: String,
}

/// An audit action in Chinese.
pub fn action_label(action: &str) -> &str {
    match action {
        "import_register" => "导入登记表",
        "create_user" => "创建账号",
        "disable_user" => "停用账号",
        "enable_user" => "启用账号",
        "reset_password" => "重置密码",
        "enqueue_job" => "任务排队",
        "start_job" => "任务开始",
        "take_job" => "任务领取",
        "finish_job" => "任务结束",
        "expire_job" => "任务中断（服务器已停止）",
        "create_session" => "登录",
        "delete_session" => "退出登录",
        "import_plan" => "导入责任分解方案",
        "refresh_gaps" => "评估后更新短板",
        "set_leader_post" => "设置县领导职务",
        "set_incidence_threshold" => "设置贫困发生率阈值",
        "create_work_item" => "交办事项",
        "work_item_start" => "开始办理",
        "work_item_report" => "报告进展",
        "work_item_complete" => "报告完成",
        "work_item_close" => "销号",
        "work_item_reopen" => "退回重办",
        "work_item_remind" => "催办",
        "work_item_escalate" => "升级督办",
        "work_item_reassessed" => "复核达标",
        "work_item_reroute" => "方案调整改派",
        "work_item_edit" => "改期/改派",
        "create_inspection" => "新建考核评估",
        "draw_sample" => "考核抽样",
        "record_verification" => "录入核验结果",
        "create_finding" => "登记考核问题并交办",
        other => other,
    }
}

fn json_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .map(std::string::ToString::to_string)
        .unwrap_or_default()
}

impl AuditLine {
    fn of(e: &AuditEntry) -> AuditLine {
        AuditLine {
            id: e.id,
            at: view::time(e.at),
            user: e.username.clone().unwrap_or_else(|| "命令行".into()),
            action: action_label(&e.action).into(),
            entity: format!("{} {}", e.entity, e.entity_id),
            before: json_text(&e.before),
            after: json_text(&e.after),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditLine>,
    next_url: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
pub struct Before {
    pub before: Option<i64>,
}

/// GET /admin/audit?before=id
pub async fn audit_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<Before>,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let page = state
        .store
        .audit_log()
        .audit_entries(q.before, PAGE)
        .await?;
    let p = AuditPage {
        layout: Layout::of(&v, "审计日志", "audit"),
        entries: page.items.iter().map(AuditLine::of).collect(),
        next_url: page.next.map(|n| format!("/admin/audit?before={n}")),
        paged: q.before.is_some(),
    };
    Ok(Html(p.render()?))
}
