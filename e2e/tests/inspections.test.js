// 考核评估 in the browser (issue 6): an inspector records an inspection, draws the sample
// with a seed (the rural households file uploaded), enters one household's result, records
// a finding linked to the housing task — which lands in the housing bureau's inbox — and
// the findings table (the 整改台账 on screen) shows it.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./helpers');

const HOUSEHOLD = '1409300102007';
const BUREAU = '县住建局';

let env;
before(async () => {
  env = await h.setup();
  h.fupin(['user', 'add', 'inspector', '--role', 'inspector', '--db', env.db], h.PASSWORD + '\n');
  h.fupin(['user', 'add', 'zjj2', '--role', 'unit_staff', '--unit', BUREAU, '--db', env.db], h.PASSWORD + '\n');
  const planFile = path.join(env.dir, 'plan-2018.csv');
  h.fupin(['plan', 'demo', '--out', planFile]);
  h.fupin(['plan', 'import', planFile, '--year', '2018', '--db', env.db, '--user', 'admin']);
});
after(async () => { await h.teardown(env); });

describe('考核评估 in the browser', () => {
  it('inspection → draw with a seed → a result → a finding in the bureau\'s inbox', async () => {
    const base = env.server.url;
    const p = await h.login(env.browser, base, 'inspector');
    await p.goto(base + '/inspections');
    await p.fill('#new-inspection input[name=name]', '2018年县级自查');
    await p.selectOption('#new-inspection select[name=level]', 'county_self');
    await p.fill('#new-inspection input[name=starts_on]', '2018-09-01');
    await p.fill('#new-inspection input[name=team]', '县脱贫攻坚督查组');
    await Promise.all([p.waitForURL(/\/inspections\/\d+$/), p.click('#new-inspection button[type=submit]')]);
    const url = p.url();

    const rural = path.join(env.dir, 'rural.csv');
    fs.writeFileSync(rural, '乡镇,行政村,农村总户数\n示例一乡,示例一乡甲村,30\n示例一乡,示例一乡乙村,40\n示例二镇,示例二镇丙村,20\n');
    await p.fill('#draw-form input[name=seed]', '20180901');
    await p.fill('#draw-form input[name=townships]', '0');
    await p.fill('#draw-form input[name=poor_villages]', '2');
    await p.fill('#draw-form input[name=other_villages]', '0');
    await p.check('#draw-form input[name=allocation][value=fixed]');
    await p.fill('#draw-form input[name=registered]', '3');
    await p.fill('#draw-form input[name=non_registered]', '2');
    await p.fill('#draw-form input[name=min_share]', '0');
    await p.check('#draw-form input[name=take_all]');
    await p.setInputFiles('#draw-form input[name=rural]', rural);
    await Promise.all([p.waitForURL(url), p.click('#draw-form button[type=submit]')]);
    assert.equal(await p.textContent('#seed'), '20180901');
    assert.equal(await p.locator('#sample tbody tr').count(), 15);
    assert.equal(await p.locator('#sample-xlsx').count(), 1);

    // One household's result by the form.
    await Promise.all([p.waitForURL(/\/results\/1$/), p.click('#s1 a')]);
    const selects = await p.locator('#result-form select').count();
    for (let i = 0; i < selects; i++) {
      const s = p.locator('#result-form select').nth(i);
      const name = await s.getAttribute('name');
      if (name === 'water') continue;
      await s.selectOption(name === 'approval' ? '是' : (name === 'missed' ? '否' : '是'));
    }
    if (await p.locator('#result-form input[name=people]').count()) {
      await p.fill('#result-form input[name=people]', '3');
    }
    await Promise.all([p.waitForURL(new RegExp(url.replace(/[/.]/g, '\\$&') + '(#s1)?$')), p.click('#result-form button[type=submit]')]);
    assert.doesNotMatch(await p.textContent('#s1'), /未录入/);

    // A finding linked to the housing task goes to the housing bureau.
    await p.goto(url + '/findings');
    await p.fill('#new-finding textarea[name=description]', '住房为C级危房，未改造即认定脱贫');
    await p.selectOption('#new-finding select[name=category]', '两不愁三保障');
    await p.selectOption('#new-finding select[name=severity]', 'serious');
    await p.fill('#new-finding input[name=household_no]', HOUSEHOLD);
    await p.selectOption('#new-finding select[name=task_no]', '4');
    await p.fill('#new-finding textarea[name=measure]', '年底前完成危房改造并入住');
    await p.fill('#new-finding input[name=deadline]', '2018-12-31');
    await Promise.all([p.waitForURL(/\/findings$/), p.click('#new-finding button[type=submit]')]);
    const row = await p.textContent('#ledger tbody tr');
    assert.match(row, /住房为C级危房.*年底前完成危房改造并入住.*县住建局.*2018-12-31.*待办.*未销号/s);

    const unit = await h.login(env.browser, base, 'zjj2');
    await unit.goto(base + '/tasks/items');
    assert.equal(await unit.locator('#items a:has-text("【县级自查】住房为C级危房")').count(), 1);
  });
});
