// 项目与资金 in the browser (issue 7): the headquarters creates a project in the library
// and sets the county's behind-schedule rule, the implementing unit records a
// disbursement on the project's page — the figures and the six-in-place panel change —
// then corrects it with a reversal, and the panel changes back.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const UNIT = '县能源局';
const PROJECT = '一乡甲村光伏扶贫电站（浏览器测试）';

let env;
before(async () => {
  env = await h.setup();
  h.fupin(['user', 'add', 'nyj', '--role', 'unit_staff', '--unit', UNIT, '--db', env.db], h.PASSWORD + '\n');
});
after(async () => { await h.teardown(env); });

async function six(page, base) {
  await page.goto(base + '/tasks/six');
  const text = async (sel) => (await page.locator(sel).count()) ? page.textContent(sel) : null;
  return {
    disbursed: await text('#six-funds .fund-disbursed'),
    rate: await text('#six-funds .fund-rate'),
    behind: await text('#six-funds .fund-behind'),
    all: await page.textContent('#six-funds'),
  };
}

describe('项目与资金 in the browser', () => {
  it('new project → the unit disburses → figures and six in place change → a reversal', async () => {
    const base = env.server.url;
    const admin = await h.login(env.browser, base, 'admin');

    // No project yet: the panel says so.
    assert.match((await six(admin, base)).all, /尚未导入项目库/);

    // The headquarters creates the project.
    await admin.goto(base + '/projects');
    await Promise.all([admin.waitForURL(base + '/projects/new'), admin.click('#new-project')]);
    await admin.fill('#project-form input[name=name]', PROJECT);
    await admin.fill('#project-form input[name=year]', '2018');
    await admin.selectOption('#project-form select[name=kind]', 'photovoltaic');
    await admin.selectOption('#project-form select[name=stage]', 'approved');
    await admin.fill('#project-form input[name=township]', '示例一乡');
    await admin.fill('#project-form input[name=unit]', UNIT);
    await admin.fill('#project-form input[name=budget_central]', '10000');
    await Promise.all([admin.waitForURL(/\/projects\/\d+\?/), admin.click('#project-form button[type=submit]')]);
    const projectUrl = admin.url().replace(/\?.*$/, '');
    assert.match(await admin.textContent('#notice'), /项目已建立/);
    assert.match(await admin.textContent('#project-budget'), /10,000\.00/);

    // The county's rule: by 2018-06-30 at least 50% disbursed.
    await admin.goto(base + '/funds');
    await admin.fill('#rule-form input[name=by]', '2018-06-30');
    await admin.fill('#rule-form input[name=min_percent]', '50');
    await Promise.all([admin.waitForURL(base + '/funds'), admin.click('#rule-form button[type=submit]')]);
    assert.match(await admin.textContent('#rule'), /2018-06-30 前拨付不低于预算的 50\.00%/);
    assert.equal(h.num(await admin.textContent('#behind-count')), 1);
    let panel = await six(admin, base);
    assert.equal(panel.disbursed, '0.00');
    assert.equal(h.num(panel.behind), 1);

    // The energy bureau records a disbursement on the project's page.
    const unit = await h.login(env.browser, base, 'nyj');
    await unit.goto(base + '/projects');
    const link = unit.locator(`#projects a:has-text("${PROJECT}")`);
    assert.equal(await link.count(), 1);
    await Promise.all([unit.waitForURL(projectUrl), link.click()]);
    // Over the budget: refused on the form, in Chinese.
    await unit.fill('#entry-form input[name=date]', '2018-04-01');
    await unit.selectOption('#entry-form select[name=source]', 'central');
    await unit.fill('#entry-form input[name=amount]', '10000.01');
    await unit.fill('#entry-form input[name=voucher]', '记-0401');
    await unit.fill('#entry-form input[name=payee]', '示例光伏建设公司');
    await unit.click('#entry-form button[type=submit]');
    assert.match(await unit.textContent('#entry-error'), /将超出预算 0\.01 元/);
    await unit.fill('#entry-form input[name=amount]', '6000');
    await Promise.all([unit.waitForURL(/\/projects\/\d+\?msg=/), unit.click('#entry-form button[type=submit]')]);
    assert.match(await unit.textContent('#notice'), /已登记拨付记录/);
    assert.equal(await unit.textContent('#project-budget .rate'), '60.00%');

    // The figures and the panel change.
    await admin.goto(base + '/funds?by=unit');
    assert.match(await admin.textContent('#figures'), new RegExp(`${UNIT}.*10,000\\.00.*6,000\\.00.*60\\.00%`, 's'));
    assert.equal(h.num(await admin.textContent('#behind-count')), 0);
    panel = await six(admin, base);
    assert.equal(panel.disbursed, '6,000.00');
    assert.equal(panel.rate, '60.00%');
    assert.equal(h.num(panel.behind), 0);

    // A mistake is corrected by a reversal, never by an edit: 2,000 taken back.
    await unit.goto(projectUrl);
    await unit.fill('#reversal-form input[name=date]', '2018-04-02');
    await unit.fill('#reversal-form input[name=amount]', '2000');
    await unit.fill('#reversal-form input[name=voucher]', '记-0402');
    await unit.fill('#reversal-form input[name=note]', '金额录错');
    await Promise.all([unit.waitForURL(/\/projects\/\d+\?msg=/), unit.click('#reversal-form button[type=submit]')]);
    assert.match(await unit.textContent('#entries'), /冲销.*-2,000\.00/s);
    assert.equal(await unit.textContent('#project-budget .disbursed'), '4,000.00');
    await unit.context().close();

    panel = await six(admin, base);
    assert.equal(panel.disbursed, '4,000.00');
    assert.equal(panel.rate, '40.00%');
    assert.equal(h.num(panel.behind), 1);

    // The ledgers download as XLSX from the list.
    await admin.goto(base + '/projects');
    const d1 = await Promise.all([admin.waitForEvent('download'), admin.click('#entries-xlsx')]);
    assert.match(d1[0].suggestedFilename(), /\.xlsx$/);
    const d2 = await Promise.all([admin.waitForEvent('download'), admin.click('#projects-xlsx')]);
    assert.match(d2[0].suggestedFilename(), /\.xlsx$/);
    await admin.context().close();
  });
});
