// The fupin server in a browser: log in; the dashboard's figures are the assessment's;
// drill down to a household and see why it fails; a file with errors is refused with
// every problem listed and nothing changed; a good file becomes a new version; a township
// user is refused another township; the admin adds an account in the browser, which logs
// in to its village until the admin disables it.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./helpers');

let env;
before(async () => { env = await h.setup(); });
after(async () => { await h.teardown(env); });

async function verdictCounts(page) {
  const counts = {};
  for (const v of ['ready', 'not_ready', 'stable', 'wrong_exit', 'data_error']) {
    counts[v] = h.num(await page.textContent(`[data-verdict="${v}"]`));
  }
  return counts;
}

describe('fupin in the browser', () => {
  it('logs in and shows the dashboard figures of the assessment', async () => {
    const page = await h.login(env.browser, env.server.url, 'admin');
    assert.equal(await page.textContent('#who'), 'admin');
    const c = env.county;
    assert.equal(h.num(await page.textContent('#kpi-households')), c.households);
    assert.equal(h.num(await page.textContent('#kpi-members')), c.members);
    assert.equal(await page.textContent('#kpi-now'), c.incidence_now_percent + '%');
    assert.equal(await page.textContent('#kpi-after'), c.incidence_after_percent + '%');
    assert.deepEqual(await verdictCounts(page), c.verdicts);
    for (const [code, n] of Object.entries(c.failed)) {
      assert.equal(h.num(await page.textContent(`[data-criterion="${code}"]`)), n, code);
    }
    assert.equal(await page.locator('svg.chart').count(), 3);
    await page.context().close();
  });

  it('drills down county → township → village → household and shows why it fails', async () => {
    const page = await h.login(env.browser, env.server.url, 'admin');
    // A household the assessment found not ready, for income.
    const header = env.households[0];
    const row = env.households.find((r) => r[header.indexOf('结论')] === '未达退出标准' && r[header.indexOf('说明')].includes('人均纯收入'));
    const [no, township, village] = row;
    await page.click(`#areas a:text-is("${township}")`);
    await page.waitForURL(/\/townships\//);
    await page.click(`#areas a:text-is("${village}")`);
    await page.waitForURL(/\/villages\//);
    await page.click(`#households a:text-is("${no}")`);
    await page.waitForURL(/\/households\//);
    assert.equal(await page.textContent('#verdict'), '未达退出标准');
    const income = page.locator('tr[data-criterion="INCOME"]');
    assert.match(await income.textContent(), /未达标/);
    assert.match(await income.textContent(), /人均纯收入 [\d,.]+ 元 ≤ 标准 3,535 元/);
    assert.equal(await page.locator('tr[data-criterion="FOOD"] .pass').count(), 1);
    assert.ok((await page.textContent('#explanation')).includes(row[header.indexOf('说明')]));
    await page.context().close();
  });

  it('refuses a file with errors, lists every problem and changes nothing', async () => {
    const page = await h.login(env.browser, env.server.url, 'admin');
    const before = await verdictCounts(page);
    await page.goto(env.server.url + '/import');
    await page.setInputFiles('input[name=members]', path.join(h.GOLDEN, 'members.csv'));
    await page.setInputFiles('input[name=villages]', env.villages);
    await page.fill('input[name=year]', '2018');
    await page.fill('input[name=line]', '3535');
    await page.click('#import-form button[type=submit]');
    await page.waitForSelector('#job[data-state="rejected"]', { timeout: 60000 });
    assert.match(await page.textContent('#job-result'), /未导入/);
    const expected = h.readCsv(path.join(h.GOLDEN, 'expected_problems.csv')).slice(1);
    const rows = await page.locator('#job-problems tbody tr').allTextContents();
    assert.equal(rows.length, expected.length);
    expected.forEach(([line, , code], i) => {
      assert.ok(rows[i].includes(code) && rows[i].includes(line), `${rows[i]} ≠ ${line} ${code}`);
    });
    const download = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.match(download[0].suggestedFilename(), /\.xlsx$/);
    await page.goto(env.server.url + '/versions');
    assert.equal(await page.locator('#versions tbody tr').count(), 1);
    await page.goto(env.server.url + '/');
    assert.deepEqual(await verdictCounts(page), before);
    await page.context().close();
  });

  it('imports a good file as a new version: figures change, history kept', async () => {
    const page = await h.login(env.browser, env.server.url, 'admin');
    const before = await verdictCounts(page);
    const file = path.join(env.dir, 'members-v2.csv');
    // Household 01 was ready; with 不愁吃 = 否 it is not.
    fs.writeFileSync(file, h.withFoodInsecure(h.goldenWithoutErrors(), '1409300101001'));
    await page.goto(env.server.url + '/import');
    await page.setInputFiles('input[name=members]', file);
    await page.setInputFiles('input[name=villages]', env.villages);
    await page.fill('input[name=year]', '2018');
    await page.fill('input[name=line]', '3535');
    await page.click('#import-form button[type=submit]');
    await page.waitForSelector('#job[data-state="imported"]', { timeout: 60000 });
    assert.match(await page.textContent('#job-result'), /导入成功/);
    await page.goto(env.server.url + '/');
    const now = await verdictCounts(page);
    assert.equal(now.ready, before.ready - 1);
    assert.equal(now.not_ready, before.not_ready + 1);
    await page.goto(env.server.url + '/households/1409300101001');
    assert.equal(await page.textContent('#verdict'), '未达退出标准');
    const history = await page.locator('#history tbody tr').allTextContents();
    assert.equal(history.length, 2);
    assert.match(history[0], /members-v2\.csv/);
    assert.match(history[0], /未达退出标准/);
    assert.match(history[1], /达到退出标准/);
    await page.goto(env.server.url + '/versions');
    assert.equal(await page.locator('#versions tbody tr').count(), 2);
    await page.context().close();
  });

  it('lets the admin add a village account, which logs in to its village until disabled', async () => {
    const admin = await h.login(env.browser, env.server.url, 'admin');
    await admin.goto(env.server.url + '/admin/users');
    await admin.fill('#add-user input[name=username]', '甲村文书');
    await admin.selectOption('#add-user select[name=role]', 'village_staff');
    await admin.fill('#add-user input[name=township]', '示例一乡');
    await admin.fill('#add-user input[name=village]', '示例一乡甲村');
    await admin.fill('#add-user input[name=password]', '甲村-文书-2018');
    await admin.fill('#add-user input[name=password2]', '甲村-文书-2018');
    await Promise.all([admin.waitForURL(/done=added/), admin.click('#add-user button[type=submit]')]);
    assert.match(await admin.textContent('#notice'), /已创建账号「甲村文书」/);
    assert.match(await admin.textContent('tr[data-user="甲村文书"]'), /村级工作人员.*示例一乡 示例一乡甲村.*正常/s);

    const context = await env.browser.newContext();
    const clerk = await context.newPage();
    await clerk.goto(env.server.url + '/login');
    await clerk.fill('input[name=username]', '甲村文书');
    await clerk.fill('input[name=password]', '甲村-文书-2018');
    await Promise.all([clerk.waitForURL(env.server.url + '/'), clerk.click('button[type=submit]')]);
    assert.match(await clerk.textContent('#who'), /甲村文书/);
    const other = await clerk.goto(env.server.url + '/townships/' + encodeURIComponent('示例一乡') + '/villages/' + encodeURIComponent('示例一乡乙村'));
    assert.equal(other.status(), 404);

    await Promise.all([admin.waitForURL(/done=disabled/), admin.click('tr[data-user="甲村文书"] button:text-is("停用")')]);
    assert.match(await admin.textContent('tr[data-user="甲村文书"]'), /已停用/);
    await clerk.goto(env.server.url + '/');
    assert.match(clerk.url(), /\/login$/);
    await context.close();
    await admin.context().close();
  });

  it('refuses a township user another township', async () => {
    const page = await h.login(env.browser, env.server.url, 'township');
    assert.doesNotMatch(await page.textContent('main'), /示例二镇/);
    const r = await page.goto(env.server.url + '/households/1409300201001');
    assert.equal(r.status(), 404);
    assert.match(await page.textContent('main'), /不在您的管辖范围内/);
    const t = await page.goto(env.server.url + '/townships/' + encodeURIComponent('示例二镇'));
    assert.equal(t.status(), 404);
    await page.goto(env.server.url + '/search?q=1409300201001');
    assert.equal(await page.locator('#hits tbody tr').count(), 0);
    const own = await page.goto(env.server.url + '/households/1409300101001');
    assert.equal(own.status(), 200);
    await page.context().close();
  });
});
