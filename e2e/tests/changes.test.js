// The living register in the browser (issue 14): the village cadre, on a phone, records a
// finished renovation with a photo → the township approves → the household becomes
// 达到退出标准 → its work item is 已完成待核 → the inspector closes it (销号 on evidence)
// → the dashboard's 未整改短板 is one lower.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./helpers');

const HOUSEHOLD = '1409300102007'; // fails only 住房安全有保障 (C, 在建) in the golden register
const PHONE = { width: 390, height: 844 };

let env;
before(async () => {
  env = await h.setup();
  h.fupin(['user', 'add', 'yicun', '--role', 'village_staff', '--township', '示例一乡', '--village', '示例一乡乙村', '--db', env.db], h.PASSWORD + '\n');
  h.fupin(['user', 'add', 'ducha', '--role', 'inspector', '--db', env.db], h.PASSWORD + '\n');
  const planFile = path.join(env.dir, 'plan-2018.csv');
  h.fupin(['plan', 'demo', '--out', planFile]);
  h.fupin(['plan', 'import', planFile, '--year', '2018', '--declared', '26', '--db', env.db, '--user', 'admin']);
});
after(async () => { await h.teardown(env); });

describe('变更申请 in the browser', () => {
  it('village records → township approves → ready → item done → inspector closes → one gap fewer', async () => {
    const base = env.server.url;
    const admin = await h.login(env.browser, base, 'admin');
    const openBefore = h.num(await admin.textContent('#open-gaps'));

    // The village cadre, on a phone.
    const village = await h.login(env.browser, base, 'yicun', PHONE);
    await village.goto(`${base}/households/${HOUSEHOLD}`);
    assert.match(await village.textContent('#verdict'), /未达退出标准/);
    await Promise.all([village.waitForURL(/\/change$/), village.click('#change-link')]);
    // The form fits the phone: nothing wider than the screen.
    const wide = await village.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `page is ${wide}px wide`);
    // 收入测算 adds up as the cadre types: 1,000 + 7,000 − 1,000 + 0 + 2,000 over 2 people.
    assert.match(await village.textContent('#income-result'), /人均 4,500\.00 元，高于标准 3,535\.00 元/);
    await village.fill('input[name=h_wage_income]', '0');
    await village.fill('input[name=h_transfer_income]', '0');
    assert.match(await village.textContent('#income-result'), /人均 3,000\.00 元，未超过标准/);
    await village.fill('input[name=h_wage_income]', '1,000');
    await village.fill('input[name=h_transfer_income]', '2,000');
    await village.fill('input[name=reason]', '危房改造已竣工验收');
    await village.selectOption('select[name=h_renovation]', '已竣工');
    await village.fill('input[name=done_on]', '2026-11-20');
    const photo = path.join(env.dir, '竣工照片.jpg');
    fs.writeFileSync(photo, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    await village.setInputFiles('input[name=files]', photo);
    await Promise.all([village.waitForURL(/msg=/), village.click('#submit-change')]);
    assert.match(await village.textContent('#message'), /已提交，等待乡镇审核/);
    assert.match(await village.textContent('#changes'), /危房改造状态：在建 → 已竣工/);
    assert.match(await village.textContent('#verdict'), /未达退出标准/, 'not applied before review');
    await village.context().close();

    // The township approves it.
    const township = await h.login(env.browser, base, 'township');
    await township.goto(base + '/changes');
    const card = township.locator('.change-card', { hasText: HOUSEHOLD });
    assert.match(await card.textContent(), /竣工照片\.jpg/);
    await card.locator('form[id^=approve-] input[name=note]').fill('照片与现场一致');
    await Promise.all([township.waitForURL(/msg=/), card.locator('form[id^=approve-] button').click()]);
    assert.match(await township.textContent('#message'), /由「未达退出标准」变为「达到退出标准」/);
    await township.goto(`${base}/households/${HOUSEHOLD}`);
    assert.match(await township.textContent('#verdict'), /达到退出标准/);
    await township.context().close();

    // The housing item is 已完成待核, with the photo as its evidence; the inspector closes it.
    const inspector = await h.login(env.browser, base, 'ducha');
    await inspector.goto(`${base}/households/${HOUSEHOLD}`);
    const item = inspector.locator('#household-gaps a[href^="/tasks/items/"]').first();
    await Promise.all([inspector.waitForURL(/\/tasks\/items\/\d+$/), item.click()]);
    const itemUrl = inspector.url();
    assert.equal(await inspector.getAttribute('#state', 'data-state'), 'done');
    assert.match(await inspector.textContent('#events'), /竣工照片\.jpg/);
    await inspector.fill('#step-close input[name=note]', '照片核实，予以销号');
    await Promise.all([inspector.waitForURL(itemUrl), inspector.click('#step-close button[type=submit]')]);
    assert.equal(await inspector.getAttribute('#state', 'data-state'), 'closed');
    await inspector.context().close();

    await admin.goto(base + '/');
    assert.equal(h.num(await admin.textContent('#open-gaps')), openBefore - 1);
    await admin.context().close();
  });
});
