// 收入测算 on the change form: the five income items added up as the cadre types, per
// person against the line (the server checks again with the importer's rules).
(function () {
  var out = document.getElementById('income-result');
  var people = +out.dataset.people, line = +out.dataset.line;
  function fen(v) { v = (v || '').replace(/,/g, '').trim(); if (v === '') return 0; return /^\d+(\.\d{1,2})?$/.test(v) ? Math.round(parseFloat(v) * 100) : NaN; }
  function yuan(f) { var s = (Math.abs(f) / 100).toFixed(2).split('.'); s[0] = s[0].replace(/\B(?=(\d{3})+(?!\d))/g, ','); return (f < 0 ? '-' : '') + s.join('.'); }
  function show() {
    var v = {}; document.querySelectorAll('input.money').forEach(function (i) { v[i.name] = fen(i.value); });
    var net = v.h_wage_income + v.h_operating_income - v.h_operating_expense + v.h_property_income + v.h_transfer_income;
    if (isNaN(net)) { out.textContent = '金额应为不小于0、最多两位小数的元数，如 12,345.60'; out.className = 'alert'; return; }
    var per = people > 0 ? Math.round(net / people) : 0;
    var ok = per > line;
    out.textContent = '家庭纯收入 ' + yuan(net) + ' 元，人均 ' + yuan(per) + ' 元，' + (ok ? '高于' : '未超过') + '标准 ' + yuan(line) + ' 元（' + people + ' 人）';
    out.className = ok ? 'ok' : 'alert';
  }
  document.querySelectorAll('input.money').forEach(function (i) { i.addEventListener('input', show); });
  show();
})();
