// 责任落实 in the browser (issue 5): the headquarters imports the plan, the register is
// assessed again, a household's housing gap appears in the housing bureau's inbox, the
// bureau reports progress (with a photo) and reports it done, the headquarters closes it
// (销号) — and the responsibility matrix and the six-in-place panel change.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./helpers');

const HOUSEHOLD = '1409300102007'; // fails only 住房安全有保障 in the golden register
const BUREAU = '县住建局';

let env;
before(async () => {
  env = await h.setup();
  h.fupin(['user', 'add', 'zjj', '--role', 'unit_staff', '--unit', BUREAU, '--db', env.db], h.PASSWORD + '\n');
});
after(async () => { await h.teardown(env); });

/** A number of the matrix row of a task. */
async function cell(page, task, cls) {
  return h.num(await page.textContent(`#matrix tr[data-task="${task}"] td.${cls}`));
}

describe('责任落实 in the browser', () => {
  it('plan → assessment → the housing bureau rectifies → the headquarters closes', async () => {
    const admin = await h.login(env.browser, env.server.url, 'admin');
    const base = env.server.url;

    // The plan: the seed county's 2018 plan, as `fupin plan demo` writes it.
    const planFile = path.join(env.dir, 'plan-2018.csv');
    h.fupin(['plan', 'demo', '--out', planFile]);
    await admin.goto(base + '/tasks');
    await admin.setInputFiles('#plan-form input[name=plan]', planFile);
    await admin.fill('#plan-form input[name=year]', '2018');
    await admin.fill('#plan-form input[name=declared_tasks]', '26');
    await admin.click('#plan-form button[type=submit]');
    // 26 announced, 25 listed: a warning; the plan is stored.
    assert.match(await admin.textContent('main'), /已导入/);

    // The register assessed again (a new version): its gaps are routed by the plan.
    await admin.goto(base + '/import');
    await admin.setInputFiles('input[name=members]', env.clean);
    await admin.setInputFiles('input[name=villages]', env.villages);
    await admin.fill('input[name=year]', '2018');
    await admin.fill('input[name=line]', '3535');
    await admin.click('#import-form button[type=submit]');
    await admin.waitForSelector('#job[data-state="imported"]', { timeout: 60000 });

    await admin.goto(base + '/tasks');
    assert.match(await admin.textContent('#matrix tr[data-task="4"]'), /大力实施危房改造.*分管城建副县长.*县住建局/s);
    const openBefore = await cell(admin, 4, 'open');
    const closedBefore = await cell(admin, 4, 'closed');
    assert.ok(openBefore >= 1);
    await admin.goto(base + '/tasks/six');
    const sixClosedBefore = h.num(await admin.textContent('#six-responsibility .items-closed'));
    // No project library in this test's database: the funds part says so plainly.
    assert.match(await admin.textContent('#six-funds'), /尚未导入项目库/);

    // The housing bureau's inbox has the household's housing gap.
    const unit = await h.login(env.browser, base, 'zjj');
    await unit.goto(base + '/tasks/items');
    assert.match(await unit.textContent('h1'), /县住建局 待办箱/);
    const link = unit.locator(`#items a:has-text("户 ${HOUSEHOLD}：住房安全有保障")`);
    assert.equal(await link.count(), 1);
    await Promise.all([unit.waitForURL(/\/tasks\/items\/\d+$/), link.click()]);
    const itemUrl = unit.url();
    assert.equal(await unit.locator('#step-close').count(), 0, 'the unit is not offered 销号');

    const photo = path.join(env.dir, '现场照片.jpg');
    fs.writeFileSync(photo, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    await unit.fill('#report-form input[name=note]', '危房改造已开工');
    await unit.fill('#report-form input[name=percent]', '60');
    await unit.setInputFiles('#report-form input[name=files]', photo);
    await Promise.all([unit.waitForURL(itemUrl), unit.click('#report-form button[type=submit]')]);
    assert.equal(await unit.textContent('#progress'), '60%');
    assert.match(await unit.textContent('#events'), /现场照片\.jpg/);
    await unit.fill('#step-complete input[name=note]', '改造完成，已入住');
    await Promise.all([unit.waitForURL(itemUrl), unit.click('#step-complete button[type=submit]')]);
    assert.equal(await unit.getAttribute('#state', 'data-state'), 'done');
    await unit.context().close();

    // The headquarters checks it: the register still says the house is unsafe, so 销号 is
    // refused (issue 14); it closes it anyway with a written reason (强制销号).
    await admin.goto(itemUrl);
    await admin.fill('#step-close input[name=note]', '核查属实，予以销号');
    await Promise.all([admin.waitForURL(/msg=/), admin.click('#step-close button[type=submit]')]);
    assert.match(await admin.textContent('#message'), /仍未达标/);
    assert.equal(await admin.getAttribute('#state', 'data-state'), 'done');
    await admin.fill('#step-close input[name=note]', '核查属实，原址无法改造，已纳入搬迁计划');
    await admin.selectOption('#step-close select[name=override]', 'cannot_rectify');
    await Promise.all([admin.waitForURL(itemUrl), admin.click('#step-close button[type=submit]')]);
    assert.equal(await admin.getAttribute('#state', 'data-state'), 'closed');
    assert.match(await admin.textContent('#events'), /强制销号（无法整改）/);

    await admin.goto(base + '/tasks');
    assert.equal(await cell(admin, 4, 'closed'), closedBefore + 1);
    assert.equal(await cell(admin, 4, 'open'), openBefore - 1);
    await admin.goto(base + '/tasks/six');
    assert.equal(h.num(await admin.textContent('#six-responsibility .items-closed')), sixClosedBefore + 1);

    // The ledger downloads as XLSX.
    await admin.goto(base + '/tasks');
    const download = await Promise.all([admin.waitForEvent('download'), admin.click('#ledger')]);
    assert.match(download[0].suggestedFilename(), /\.xlsx$/);
    await admin.context().close();
  });
});
