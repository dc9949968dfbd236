/* report.html's script (embedded into every page by reports/html/embed.c). The page reads
 * without it; it adds: click a timeline mark or bar to keep its attributes in the panel below
 * the timeline and select its table row (and the reverse), and a filter for the event table. */
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  var detail = document.getElementById('ev-detail');
  var svg = document.getElementById('timeline');
  var selected = [];

  function clear() {
    selected.forEach(function (el) { el.classList.remove('sel'); });
    selected = [];
  }

  function select(el) {
    el.classList.add('sel');
    selected.push(el);
  }

  function titleOf(el) {
    var t = el.querySelector('title');
    return t ? t.textContent : '';
  }

  function pickMark(mark) {
    clear();
    select(mark);
    if (detail) detail.textContent = titleOf(mark);
    var i = mark.getAttribute('data-i');
    var row = i === null ? null : document.getElementById('ev-' + i);
    if (row) select(row);
    else if (detail && i !== null) detail.textContent += '\n(not listed in the table: see events.jsonl, line ' + (Number(i) + 1) + ')';
  }

  if (svg) {
    svg.addEventListener('click', function (e) {
      var mark = e.target.closest('.ev, .bin, .span-wait, .span-open');
      if (mark) pickMark(mark);
    });
  }

  var table = document.querySelector('table.events');
  if (table) {
    table.addEventListener('click', function (e) {
      var row = e.target.closest('tr[data-i]');
      if (!row || !svg) return;
      clear();
      select(row);
      var mark = svg.querySelector('.ev[data-i="' + row.getAttribute('data-i') + '"]');
      if (mark) {
        select(mark);
        if (detail) detail.textContent = titleOf(mark);
      }
    });
  }

  var filter = document.getElementById('ev-filter');
  if (filter && table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    filter.addEventListener('input', function () {
      var q = filter.value.toLowerCase();
      rows.forEach(function (r) {
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
})();
