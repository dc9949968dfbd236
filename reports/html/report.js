/* report.html's script (embedded into every page by reports/html/embed.c). The page reads
 * without it; it adds: click a timeline mark or bar to keep its attributes in the panel below
 * the timeline and select its table row (and the reverse), a filter for the event table, and
 * zoom: drag across the timeline or a chart to see that stretch of time in every chart. */
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
      if (dragged) { dragged = false; return; } // the end of a zoom's drag, not a pick
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

  // Zoom. Every chart shares the time axis (data-t-end, data-x0, data-x1), and every element
  // drawn on it carries its time: data-t (moved) or data-t0 and data-t1 (moved and stretched);
  // lines of samples are stretched by a transform. A drag picks the stretch of time.
  var charts = Array.prototype.slice.call(document.querySelectorAll('svg.chart[data-t-end]'));
  var reset = document.getElementById('zoom-reset');
  var range = document.getElementById('zoom-range');
  var view = null; // [from, to] in ms, null: the whole run
  var SVGNS = 'http://www.w3.org/2000/svg';

  function niceStep(span, parts) {
    var raw = span / parts, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  }

  function label(ms, step) { // as fl_html_fmt_ms
    if (step >= 500) return (ms / 1000).toFixed(step % 1000 === 0 ? 0 : step % 100 === 0 ? 1 : 2) + 's';
    return ms.toFixed(step >= 1 ? 0 : Math.ceil(-Math.log10(step))) + 'ms';
  }

  function axis(svg) {
    var T = Number(svg.dataset.tEnd), x0 = Number(svg.dataset.x0), x1 = Number(svg.dataset.x1);
    var lo = view ? view[0] : 0, hi = view ? view[1] : T;
    return { T: T, x0: x0, w: x1 - x0, lo: lo, hi: hi,
      x: function (t) { return x0 + (x1 - x0) * (t - lo) / (hi - lo); },
      base: function (t) { return x0 + (x1 - x0) * t / T; },
      t: function (x) { return lo + (x - x0) / (x1 - x0) * (hi - lo); } };
  }

  function grid(svg, a) {
    var g = svg.querySelector('g.grid.t');
    if (!g) return;
    var y0 = g.dataset.y0, y1 = g.dataset.y1, ly = g.dataset.labelY;
    while (g.firstChild) g.removeChild(g.firstChild);
    var step = niceStep(a.hi - a.lo, 8);
    for (var t = Math.ceil(a.lo / step) * step, k = 0; t <= a.hi + step * 1e-6 && k < 100; t += step, k++) {
      var x = a.x(t).toFixed(1), line = document.createElementNS(SVGNS, 'line');
      line.setAttribute('x1', x); line.setAttribute('x2', x);
      line.setAttribute('y1', y0); line.setAttribute('y2', y1);
      var text = document.createElementNS(SVGNS, 'text');
      text.setAttribute('x', x); text.setAttribute('y', ly); text.setAttribute('text-anchor', 'middle');
      text.textContent = label(t, step);
      g.appendChild(line);
      g.appendChild(text);
    }
  }

  function zoom(to) {
    view = to;
    charts.forEach(function (svg) {
      var a = axis(svg);
      svg.querySelectorAll('[data-t]').forEach(function (el) {
        var t = Number(el.dataset.t);
        if (view) el.setAttribute('transform', 'translate(' + (a.x(t) - a.base(t)).toFixed(2) + ',0)');
        else el.removeAttribute('transform');
      });
      svg.querySelectorAll('[data-t0]').forEach(function (el) {
        var u0 = a.x(Number(el.dataset.t0)), w = a.x(Number(el.dataset.t1)) - u0;
        if (el.classList.contains('bin')) w *= 0.85;
        el.setAttribute('x', u0.toFixed(2));
        el.setAttribute('width', Math.max(w, 0.5).toFixed(2));
      });
      var k = a.T / (a.hi - a.lo), e = a.x0 * (1 - k) - a.w * a.lo / (a.hi - a.lo);
      svg.querySelectorAll('polyline.series').forEach(function (p) {
        if (view) p.setAttribute('transform', 'matrix(' + k + ',0,0,1,' + e + ',0)');
        else p.removeAttribute('transform');
      });
      grid(svg, a);
      if (view) svg.dataset.zoom = view[0].toFixed(3) + ',' + view[1].toFixed(3);
      else delete svg.dataset.zoom;
    });
    if (reset) reset.disabled = !view;
    if (range) range.textContent = view ? 'showing ' + view[0].toFixed(3) + ' to ' + view[1].toFixed(3) + ' ms' : '';
  }

  var dragged = false;
  charts.forEach(function (svg) {
    var start = null, brush = null;
    function local(e) {
      var p = svg.createSVGPoint();
      p.x = e.clientX; p.y = e.clientY;
      return p.matrixTransform(svg.getScreenCTM().inverse());
    }
    svg.addEventListener('pointerdown', function (e) {
      if (e.button !== 0) return;
      start = local(e);
      dragged = false;
    });
    svg.addEventListener('pointermove', function (e) {
      if (!start) return;
      var p = local(e), x = Math.min(p.x, start.x), w = Math.abs(p.x - start.x);
      if (w < 4) return;
      dragged = true;
      if (!brush) {
        brush = document.createElementNS(SVGNS, 'rect');
        brush.setAttribute('class', 'brush');
        brush.setAttribute('y', '0');
        brush.setAttribute('height', svg.viewBox.baseVal.height);
        svg.appendChild(brush);
      }
      brush.setAttribute('x', x);
      brush.setAttribute('width', w);
    });
    function end(e) {
      if (!start) return;
      var p = local(e), a = axis(svg), from = a.t(Math.min(p.x, start.x)), to = a.t(Math.max(p.x, start.x));
      start = null;
      if (brush) { svg.removeChild(brush); brush = null; }
      if (dragged) zoom([Math.max(from, 0), Math.max(Math.min(to, a.T), Math.max(from, 0) + 1e-3)]);
    }
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointerleave', function (e) { if (start && dragged) end(e); start = null; });
    svg.addEventListener('dblclick', function () { zoom(null); });
  });
  if (reset) reset.addEventListener('click', function () { zoom(null); });

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
