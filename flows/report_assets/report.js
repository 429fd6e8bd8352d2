// Draws the report's charts as inline SVG from the JSON in #report-data. No network, no libraries.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var PALETTE = ["#1a73e8", "#7b3fe4", "#0b8043", "#e37400", "#c5221f", "#00838f"];
  var FIXED = { google_ads: "#1a73e8", meta_ads: "#7b3fe4", "all channels": "#3c4043" };
  var STATUS_COLORS = { ok: "#a8dab5", warn: "#f6c453", anomaly: "#d93025", insufficient_history: "#c7c9cc" };
  var colors = {};

  function colorOf(name) {
    if (!colors[name]) {
      colors[name] = FIXED[name] || PALETTE[Object.keys(colors).length % PALETTE.length];
    }
    return colors[name];
  }

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(name, attrs, parent, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function number(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) { return "-"; }
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits
    });
  }

  function money(value) { return number(value, 2) + " " + data.currency; }

  function empty(figure, message) {
    html("p", { "class": "empty" }, figure, message);
  }

  function legend(figure, names) {
    var list = html("ul", { "class": "legend" }, figure);
    names.forEach(function (name) {
      var item = html("li", { "data-series": name, style: "--swatch: " + colorOf(name) }, list, name);
      return item;
    });
  }

  // series: [{name, points: [[day, value|null], ...]}]; days: sorted ISO dates shared by all series.
  function lineChart(figure, series, days, format) {
    if (!days.length) { empty(figure, "No data for this period."); return; }
    var width = 640, height = 260, left = 64, right = 12, top = 10, bottom = 28;
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img" }, figure);
    var max = 0;
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (p[1] !== null && p[1] > max) { max = p[1]; } });
    });
    max = max > 0 ? max * 1.1 : 1;
    var index = {};
    days.forEach(function (day, i) { index[day] = i; });
    function x(day) {
      return left + (days.length === 1 ? 0.5 : index[day] / (days.length - 1)) * (width - left - right);
    }
    function y(value) { return top + (1 - value / max) * (height - top - bottom); }
    for (var t = 0; t <= 4; t++) {
      var value = (max * t) / 4;
      el("line", { "class": "axis", x1: left, x2: width - right, y1: y(value), y2: y(value) }, svg);
      el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, svg, format(value));
    }
    [[0, "start"], [Math.floor((days.length - 1) / 2), "middle"], [days.length - 1, "end"]].forEach(function (tick) {
      el("text", { x: x(days[tick[0]]), y: height - 8, "text-anchor": tick[1] }, svg, days[tick[0]]);
    });
    series.forEach(function (s) {
      var d = "", pen = "M", drawn = 0;
      var group = el("g", { "data-series": s.name }, svg);
      s.points.forEach(function (p) {
        if (p[1] === null) { pen = "M"; return; }
        d += pen + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1) + " ";
        pen = "L";
        drawn += 1;
        var dot = el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2, fill: colorOf(s.name) }, group);
        el("title", {}, dot, s.name + " " + p[0] + ": " + format(p[1]));
      });
      el("path", {
        "class": "series", d: d.trim(), stroke: colorOf(s.name),
        "data-series": s.name, "data-points": String(drawn)
      }, group);
    });
    legend(figure, series.map(function (s) { return s.name; }));
  }

  // items: [{label, value, series}] drawn as horizontal bars, largest first.
  function barChart(figure, items, format) {
    if (!items.length) { empty(figure, "No campaigns for this period."); return; }
    var width = 640, row = 24, left = 250, right = 90;
    var height = items.length * row + 8;
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img" }, figure);
    var max = Math.max.apply(null, items.map(function (item) { return item.value; })) || 1;
    items.forEach(function (item, i) {
      var y = 4 + i * row;
      var label = item.label.length > 40 ? item.label.slice(0, 39) + "…" : item.label;
      el("text", { "class": "bar-label", x: left - 8, y: y + 15, "text-anchor": "end" }, svg, label);
      var bar = el("rect", {
        "class": "bar", x: left, y: y + 3, height: row - 8,
        width: Math.max(1, (item.value / max) * (width - left - right)),
        fill: colorOf(item.series), "data-series": item.series, "data-label": item.label
      }, svg);
      el("title", {}, bar, item.label + ": " + format(item.value));
      el("text", { x: left + (item.value / max) * (width - left - right) + 6, y: y + 15 }, svg,
        format(item.value));
    });
    legend(figure, Array.from(new Set(items.map(function (item) { return item.series; }))));
  }

  function channelCharts() {
    var rows = data.channel_daily;
    var days = Array.from(new Set(rows.map(function (r) { return r.day; }))).sort();
    var channels = Array.from(new Set(rows.map(function (r) { return r.channel; }))).sort();
    function series(metric) {
      return channels.map(function (channel) {
        return {
          name: channel,
          points: rows.filter(function (r) { return r.channel === channel; })
            .map(function (r) { return [r.day, metric(r)]; })
        };
      });
    }
    var totals = {};
    rows.forEach(function (r) {
      var t = totals[r.day] || (totals[r.day] = { spend: 0, revenue: 0 });
      t.spend += r.spend || 0;
      t.revenue += r.revenue || 0;
    });
    function roas(spend, revenue) { return spend > 0 ? revenue / spend : null; }
    var roasSeries = series(function (r) { return roas(r.spend, r.revenue); });
    if (channels.length) {
      roasSeries.push({
        name: "all channels",
        points: days.map(function (day) { return [day, roas(totals[day].spend, totals[day].revenue)]; })
      });
    }
    var chart = function (name) { return document.querySelector('figure[data-chart="' + name + '"]'); };
    lineChart(chart("spend"), series(function (r) { return r.spend; }), days, function (v) { return number(v, 0); });
    lineChart(chart("revenue"), series(function (r) { return r.revenue; }), days, function (v) { return number(v, 0); });
    lineChart(chart("roas"), roasSeries, days, function (v) { return number(v, 2); });

    function label(c) { return c.campaign_name + " (" + (c.account_name || c.account_id) + ")"; }
    barChart(chart("top-spend"), data.top_by_spend.map(function (c) {
      return { label: label(c), value: c.spend, series: c.channel };
    }), money);
    barChart(chart("top-roas"), data.top_by_roas.map(function (c) {
      return { label: label(c), value: c.roas, series: c.channel };
    }), function (v) { return number(v, 2); });

    var spend = 0, revenue = 0;
    rows.forEach(function (r) { spend += r.spend || 0; revenue += r.revenue || 0; });
    var kpis = document.getElementById("kpis");
    [["Spend", money(spend)], ["Revenue", money(revenue)], ["ROAS", number(roas(spend, revenue), 2)]]
      .forEach(function (kpi) { addKpi(kpis, kpi[0], kpi[1], false); });
  }

  function addKpi(parent, label, value, alert) {
    var box = html("div", { "class": "kpi" + (alert ? " alert" : ""), "data-kpi": label }, parent);
    html("div", { "class": "label" }, box, label);
    html("div", { "class": "value" }, box, value);
  }

  function checks() {
    var all = data.checks;
    var figure = document.querySelector('figure[data-chart="checks"]');
    if (!all.length) { empty(figure, "No volume checks yet."); return; }
    var rank = {};
    data.statuses.forEach(function (status, i) { rank[status] = i; });
    var counts = {};
    data.statuses.forEach(function (status) { counts[status] = 0; });
    all.forEach(function (c) { counts[c.status] += 1; });
    document.getElementById("checks-run").textContent = "(run " + data.checks_run_id + ")";
    document.getElementById("checks-summary").textContent = all.length + " checks: " +
      data.statuses.map(function (s) { return counts[s] + " " + s.replace("_", " "); }).join(", ");
    addKpi(document.getElementById("kpis"), "Volume anomalies", String(counts.anomaly), counts.anomaly > 0);

    var cells = {}, units = {}, daySet = {};
    all.forEach(function (c) {
      var unit = c.connector + " · " + c.account_id;
      var key = unit + "|" + c.day;
      units[unit] = true;
      daySet[c.day] = true;
      if (!cells[key] || rank[c.status] < rank[cells[key].status]) { cells[key] = c; }
    });
    var unitNames = Object.keys(units).sort();
    var days = Object.keys(daySet).sort();
    var cell = Math.max(6, Math.min(16, Math.floor(700 / days.length)));
    var left = 230, top = 6;
    var width = left + days.length * cell + 10, height = top + unitNames.length * (cell + 2) + 24;
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: width, role: "img" }, figure);
    unitNames.forEach(function (unit, row) {
      var y = top + row * (cell + 2);
      el("text", { x: left - 8, y: y + cell - 3, "text-anchor": "end" }, svg, unit);
      days.forEach(function (day, col) {
        var c = cells[unit + "|" + day];
        if (!c) { return; }
        var rect = el("rect", {
          x: left + col * cell, y: y, width: cell - 2, height: cell, rx: 2,
          fill: STATUS_COLORS[c.status] || "#ddd", "data-status": c.status,
          "data-connector": c.connector, "data-account": c.account_id, "data-day": day
        }, svg);
        el("title", {}, rect, unit + " " + day + ": " + c.status + (c.reason ? " (" + c.reason + ")" : ""));
      });
    });
    el("text", { x: left, y: height - 6 }, svg, days[0]);
    el("text", { x: left + days.length * cell, y: height - 6, "text-anchor": "end" }, svg, days[days.length - 1]);
    var list = html("ul", { "class": "legend" }, figure);
    data.statuses.forEach(function (status) {
      html("li", { style: "--swatch: " + STATUS_COLORS[status] }, list, status.replace("_", " ") + " (" + counts[status] + ")");
    });

    var body = document.querySelector("#flagged-checks tbody");
    all.filter(function (c) { return c.status !== "ok"; })
      .sort(function (a, b) {
        return rank[a.status] - rank[b.status] || (a.day < b.day ? -1 : a.day > b.day ? 1 : 0);
      })
      .slice(0, 300)
      .forEach(function (c) {
        var tr = html("tr", { "class": "status-" + c.status, "data-status": c.status }, body);
        var change = c.observed !== null && c.baseline ? (c.observed / c.baseline - 1) * 100 : null;
        var digits = c.metric === "rows" ? 0 : 2;
        [
          [c.status, ""], [c.connector, ""], [c.account_id, ""], [c.day, ""], [c.metric, ""],
          [number(c.observed, digits), "num"], [number(c.baseline, digits), "num"],
          [change === null ? "-" : (change > 0 ? "+" : "") + number(change, 0) + "%", "num"],
          [number(c.deviation, 1), "num"], [c.reason || "", ""]
        ].forEach(function (cellValue) { html("td", { "class": cellValue[1] }, tr, cellValue[0]); });
      });
  }

  if (!data.marts_missing.length) { channelCharts(); }
  checks();
  document.body.setAttribute("data-rendered", "true");
})();
