// Draws the report's charts as inline SVG from the JSON in #report-data. No network, no libraries.
// Charts are drawn at their figure's pixel width (1 SVG unit = 1 CSS pixel, so text keeps its size) and
// redrawn when the window is resized; label areas are measured from the labels themselves.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var STATUS_COLORS = { ok: "#a8dab5", warn: "#f6c453", anomaly: "#d93025", insufficient_history: "#c7c9cc" };
  var ALL = "all channels";
  var DAY_MS = 86400000;
  var colors = Object.assign({}, data.colors || {});
  var extra = 0;

  function colorOf(name) {
    // data.colors has every channel of the period (flows/report.py); anything else takes the palette's.
    if (!colors[name]) { colors[name] = data.palette[extra++ % data.palette.length]; }
    return colors[name];
  }

  function labelOf(name) { return (data.labels && data.labels[name]) || name; }

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

  function tip(node, text) { el("title", {}, node, text); return node; }

  // Numbers ------------------------------------------------------------------------------------------

  function number(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) { return "-"; }
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits
    });
  }

  function currencyFormat(options) {
    try {
      return new Intl.NumberFormat("en-US", Object.assign({ style: "currency", currency: data.currency }, options));
    } catch (e) {
      return null;  // not an ISO code Intl knows: "1,200 XYZ" below
    }
  }
  var moneyFull = currencyFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var moneyCompact = currencyFormat({ notation: "compact", maximumFractionDigits: 2 });

  // "€1,234.56" (or "1,234.56 XYZ").
  function money(value) {
    if (value === null || value === undefined || !isFinite(value)) { return "-"; }
    return moneyFull ? moneyFull.format(value) : number(value, 2) + " " + data.currency;
  }

  // Axis ticks: "€250", "€1.25K", "€2M".
  function moneyTick(value) {
    if (moneyCompact) { return moneyCompact.format(value); }
    return compact(value) + " " + data.currency;
  }

  function compact(value) {
    return Number(value).toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 2 });
  }

  function ratioTick(value) { return Number(value).toLocaleString("en-US", { maximumFractionDigits: 2 }); }

  // Round ticks from 0 to at least `max`: steps of 1, 2, 2.5 or 5 x 10^n, about `count` of them.
  function niceTicks(max, count) {
    if (!(max > 0)) { max = 1; }
    var raw = max / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; })
      .filter(function (s) { return s >= raw; })[0];
    var ticks = [];
    for (var i = 0; i * step < max + step * 1e-9; i++) { ticks.push(i * step); }
    if (ticks[ticks.length - 1] < max) { ticks.push(ticks.length * step); }
    return ticks.map(function (t) { return Number(t.toPrecision(12)); });
  }

  function parseDay(day) { return new Date(day + "T00:00:00Z"); }
  function shortDay(day) {
    return parseDay(day).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  }
  function addDays(day, n) { return new Date(parseDay(day).getTime() + n * DAY_MS).toISOString().slice(0, 10); }

  // Text measurement -----------------------------------------------------------------------------------

  var ruler = el("svg", { "class": "ruler", "aria-hidden": "true" }, document.body);
  var rulerText = el("text", {}, ruler);

  function textWidth(text, cls) {
    rulerText.setAttribute("class", cls || "");
    rulerText.textContent = text;
    return rulerText.getComputedTextLength();
  }

  function widest(texts, cls) {
    return texts.reduce(function (w, t) { return Math.max(w, textWidth(t, cls)); }, 0);
  }

  // `text`, or its longest prefix + "…" that fits in `width` pixels.
  function fit(text, width, cls) {
    if (textWidth(text, cls) <= width) { return text; }
    var lo = 0, hi = text.length;
    while (lo < hi) {
      var mid = Math.ceil((lo + hi) / 2);
      if (textWidth(text.slice(0, mid) + "…", cls) <= width) { lo = mid; } else { hi = mid - 1; }
    }
    return text.slice(0, lo) + "…";
  }

  // Layout helpers -------------------------------------------------------------------------------------

  function chart(name) { return document.querySelector('figure[data-chart="' + name + '"]'); }

  // The figure's drawable width in pixels; the figure is cleared of an earlier drawing.
  function canvas(figure) {
    Array.from(figure.querySelectorAll("svg, .legend, .empty")).forEach(function (node) { node.remove(); });
    var style = getComputedStyle(figure);
    return Math.floor(figure.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
  }

  function svgOf(figure, width, height) {
    return el("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img" }, figure);
  }

  function empty(figure, message) { html("p", { "class": "empty" }, figure, message); }

  function legend(figure, names, note) {
    var list = html("ul", { "class": "legend" }, figure);
    names.forEach(function (name) {
      html("li", { "data-series": name, style: "--swatch: " + colorOf(name) }, list, labelOf(name));
    });
    if (note) { html("li", { "class": "immature-key" }, list, note); }
    return list;
  }

  // Time series -----------------------------------------------------------------------------------------

  // The first immature day of each series: a channel's own, and for "all channels" the earliest of them.
  // (Its last day: the channel's own last day with data; the latest of them for "all channels".)
  var immatureFrom = {}, immatureTo = {};
  (data.immature || []).forEach(function (i) {
    immatureFrom[i.channel] = i.first_day;
    immatureTo[i.channel] = i.last_day;
  });
  var windows = data.immature || [];
  if (windows.length) {
    immatureFrom[ALL] = windows.map(function (i) { return i.first_day; }).sort()[0];
    immatureTo[ALL] = windows.map(function (i) { return i.last_day; }).sort().pop();
  }

  // series: [{name, points: [[day, value|null], ...]}]; days: sorted ISO dates shared by all series.
  // Day ticks under a line or fan chart: as many as fit without touching, every 1, 2, 7, 14 or 28 days (and so on),
  // counted back from the last day.
  function dayTicks(svg, days, x, plotWidth, width, height, bottom) {
    var tickWidth = textWidth("28 Sep") + 14;
    var step = [1, 2, 7, 14, 28, 56, 91, 182, 364].filter(function (s) {
      return Math.ceil(days.length / s) * tickWidth <= plotWidth;
    })[0] || days.length;
    for (var i = days.length - 1; i >= 0; i -= step) {
      var label = shortDay(days[i]);
      var half = textWidth(label) / 2;
      var cx = Math.min(Math.max(x(days[i]), half + 1), width - half - 1);
      el("line", { "class": "axis", x1: x(days[i]), x2: x(days[i]), y1: height - bottom, y2: height - bottom + 4 }, svg);
      el("text", { "class": "tick day", x: cx, y: height - 6, "text-anchor": "middle" }, svg, label);
    }
  }

  function lineChart(figure, series, days, format) {
    var width = canvas(figure);
    if (!days.length) { empty(figure, "No data for this period."); return; }
    var height = 250, top = 8, bottom = 24, right = 10;
    var max = 0;
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (p[1] !== null && p[1] > max) { max = p[1]; } });
    });
    var ticks = niceTicks(max, height > 200 ? 5 : 3);
    var top_value = ticks[ticks.length - 1];
    var labels = ticks.map(format);
    var left = Math.ceil(widest(labels)) + 10;
    var marked = series.filter(function (s) { return immatureFrom[s.name]; });
    var stripe = 4;
    top += marked.length * (stripe + 2);
    var svg = svgOf(figure, width, height);
    var plotWidth = width - left - right;
    var index = {};
    days.forEach(function (day, i) { index[day] = i; });
    var slot = plotWidth / days.length;
    function x(day) { return left + (index[day] + 0.5) * slot; }
    function y(value) { return top + (1 - value / top_value) * (height - top - bottom); }

    // Immature days: a shaded band from the earliest, and a stripe in each channel's colour over its own.
    if (marked.length) {
      var earliest = marked.map(function (s) { return immatureFrom[s.name]; }).sort()[0];
      var startIndex = days.filter(function (d) { return d < earliest; }).length;
      if (startIndex < days.length) {
        tip(el("rect", {
          "class": "immature-band", x: left + startIndex * slot, y: top, width: (days.length - startIndex) * slot,
          height: height - top - bottom
        }, svg), "immature days: conversions still arriving");
      }
      marked.forEach(function (s, row) {
        var from = immatureFrom[s.name], to = immatureTo[s.name];
        var first = days.filter(function (d) { return d < from; }).length;
        var end = days.filter(function (d) { return d <= to; }).length;
        if (first >= end) { return; }
        tip(el("rect", {
          "class": "immature", x: left + first * slot, y: 8 + row * (stripe + 2), width: (end - first) * slot,
          height: stripe, fill: colorOf(s.name), "data-series": s.name, "data-from": days[first], "data-to": days[end - 1]
        }, svg), labelOf(s.name) + ": immature " + days[first] + " to " + days[end - 1] + " (conversions still arriving)");
      });
    }

    ticks.forEach(function (value, i) {
      el("line", { "class": "axis", x1: left, x2: width - right, y1: y(value), y2: y(value) }, svg);
      el("text", { "class": "tick", x: left - 6, y: y(value) + 4, "text-anchor": "end" }, svg, labels[i]);
    });

    dayTicks(svg, days, x, plotWidth, width, height, bottom);

    series.forEach(function (s) {
      var from = immatureFrom[s.name];
      var solid = "", dashed = "", pen = "M", dashPen = "M", drawn = 0, last = null;
      var group = el("g", { "data-series": s.name }, svg);
      s.points.forEach(function (p) {
        if (p[1] === null) { pen = "M"; dashPen = "M"; last = null; return; }
        var point = x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1) + " ";
        if (from && p[0] >= from) {
          if (dashPen === "M" && last) { dashed += "M" + last; dashPen = "L"; }
          dashed += dashPen + point;
          dashPen = "L";
        } else {
          solid += pen + point;
          pen = "L";
        }
        last = point;
        drawn += 1;
        tip(el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2, fill: colorOf(s.name) }, group),
          labelOf(s.name) + " " + p[0] + ": " + format(p[1]) + (from && p[0] >= from ? " (immature)" : ""));
      });
      el("path", {
        "class": "series", d: solid.trim(), stroke: colorOf(s.name),
        "data-series": s.name, "data-points": String(drawn)
      }, group);
      if (dashed) {
        el("path", { "class": "series-immature", d: dashed.trim(), stroke: colorOf(s.name), "data-series": s.name }, group);
      }
    });
    legend(figure, series.map(function (s) { return s.name; }),
      marked.length ? "immature days (conversions still arriving)" : null);
  }

  // Bars ---------------------------------------------------------------------------------------------

  // items: [{label, value, series, name, suffix}] drawn as horizontal bars, largest first; a label that does
  // not fit the label area (at most half the width) shortens its name with "…", keeping its suffix (the
  // account) when there is room, and shows in full on hover.
  function barChart(figure, items, format) {
    var width = canvas(figure);
    if (!items.length) { empty(figure, "No campaigns for this period."); return; }
    var row = 24;
    var height = items.length * row + 4;
    var valueLabels = items.map(function (item) { return format(item.value); });
    var right = Math.ceil(widest(valueLabels)) + 12;
    var labelArea = Math.min(Math.ceil(widest(items.map(function (i) { return i.label; }), "bar-label")),
      Math.floor(width * 0.5));
    var left = labelArea + 10;
    var svg = svgOf(figure, width, height);
    var max = Math.max.apply(null, items.map(function (item) { return item.value; })) || 1;
    var span = width - left - right;
    items.forEach(function (item, i) {
      var y = 2 + i * row;
      var shown = fit(item.label, labelArea, "bar-label");
      var room = labelArea - textWidth(item.suffix || "", "bar-label");
      while (shown !== item.label && item.suffix && room > labelArea * 0.4) {
        var candidate = fit(item.name, room, "bar-label") + " " + item.suffix;
        if (textWidth(candidate, "bar-label") <= labelArea) { shown = candidate; break; }
        room -= 4;
      }
      var text = el("text", { "class": "bar-label", x: left - 8, y: y + 16, "text-anchor": "end",
        "data-full": item.label }, svg, shown);
      tip(text, item.label);
      var length = Math.max(1, (item.value / max) * span);
      tip(el("rect", {
        "class": "bar", x: left, y: y + 4, height: row - 8, width: length,
        fill: colorOf(item.series), "data-series": item.series, "data-label": item.label
      }, svg), item.label + ": " + valueLabels[i]);
      el("text", { "class": "value", x: left + length + 6, y: y + 16 }, svg, valueLabels[i]);
    });
    legend(figure, Array.from(new Set(items.map(function (item) { return item.series; }))).sort());
  }

  // Pacing fans --------------------------------------------------------------------------------------------

  // fan: {channel, as_of, first_day, last_day, statuses, actual: [[day, spend]],
  //       forecast: [[day, mean, lo80, hi80, lo95, hi95]]}: the month-to-date actual spend as a line, the
  // forecast mean dashed inside its 95% and 80% bands, a rule at as_of.
  function fanChart(figure, fan) {
    var width = canvas(figure);
    var days = [];
    for (var d = fan.first_day; d <= fan.last_day; d = addDays(d, 1)) { days.push(d); }
    var height = 230, top = 8, bottom = 24, right = 10;
    var max = 0;
    fan.actual.forEach(function (p) { if (p[1] > max) { max = p[1]; } });
    fan.forecast.forEach(function (p) { if (p[5] > max) { max = p[5]; } });
    var ticks = niceTicks(max, 4);
    var topValue = ticks[ticks.length - 1];
    var labels = ticks.map(moneyTick);
    var left = Math.ceil(widest(labels)) + 10;
    var svg = svgOf(figure, width, height);
    var plotWidth = width - left - right;
    var index = {};
    days.forEach(function (day, i) { index[day] = i; });
    var slot = plotWidth / days.length;
    function x(day) { return left + (index[day] + 0.5) * slot; }
    function y(value) { return top + (1 - value / topValue) * (height - top - bottom); }
    function xy(day, value) { return x(day).toFixed(1) + "," + y(value).toFixed(1); }

    ticks.forEach(function (value, i) {
      el("line", { "class": "axis", x1: left, x2: width - right, y1: y(value), y2: y(value) }, svg);
      el("text", { "class": "tick", x: left - 6, y: y(value) + 4, "text-anchor": "end" }, svg, labels[i]);
    });
    dayTicks(svg, days, x, plotWidth, width, height, bottom);

    var color = colorOf(fan.channel);
    var shown = fan.forecast.filter(function (p) { return index[p[0]] !== undefined; });
    [[3, 4, "band95", "95% interval"], [1, 2, "band80", "80% interval"]].forEach(function (band) {
      if (!shown.length) { return; }
      var upper = shown.map(function (p) { return xy(p[0], p[band[1] + 1]); });
      var lower = shown.map(function (p) { return xy(p[0], p[band[0] + 1]); }).reverse();
      tip(el("path", {
        "class": "band " + band[2], d: "M" + upper.join(" L") + " L" + lower.join(" L") + " Z", fill: color,
        "data-series": fan.channel, "data-points": String(shown.length)
      }, svg), labelOf(fan.channel) + ": forecast " + band[3]);
    });
    if (index[fan.as_of] !== undefined) {
      var rule = x(fan.as_of) + slot / 2;
      tip(el("line", { "class": "as-of", x1: rule, x2: rule, y1: top, y2: height - bottom }, svg),
        "as of " + fan.as_of + ": the last actual day the forecast used");
    }
    var actual = fan.actual.filter(function (p) { return index[p[0]] !== undefined && p[1] !== null; });
    var group = el("g", { "data-series": fan.channel }, svg);
    actual.forEach(function (p) {
      tip(el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2, fill: color }, group),
        labelOf(fan.channel) + " " + p[0] + ": " + money(p[1]));
    });
    el("path", {
      "class": "series", d: actual.length ? "M" + actual.map(function (p) { return xy(p[0], p[1]); }).join(" L") : "",
      stroke: color, "data-series": fan.channel, "data-points": String(actual.length)
    }, group);
    if (shown.length) {
      var mean = shown.map(function (p) { return xy(p[0], p[1]); });
      if (actual.length) { mean.unshift(xy(actual[actual.length - 1][0], actual[actual.length - 1][1])); }
      el("path", { "class": "forecast", d: "M" + mean.join(" L"), stroke: color, "data-series": fan.channel,
        "data-points": String(shown.length) }, group);
      shown.forEach(function (p) {
        tip(el("circle", { "class": "forecast-point", cx: x(p[0]), cy: y(p[1]), r: 2, fill: color }, group),
          labelOf(fan.channel) + " " + p[0] + ": forecast " + money(p[1]) + " (80%: " + money(p[2]) + " to " +
          money(p[3]) + "; 95%: " + money(p[4]) + " to " + money(p[5]) + ")");
      });
    }
    var list = html("ul", { "class": "legend" }, figure);
    html("li", { style: "--swatch: " + color }, list, "actual");
    html("li", { "class": "forecast-key", style: "--swatch: " + color }, list, "forecast mean, 80% and 95% intervals");
    if (!shown.length) {
      html("li", { "class": "fan-note" }, list, fan.statuses.indexOf("insufficient_history") >= 0
        ? "no forecast: too little history" : "no forecast days in this month");
    }
  }

  function fans() {
    ((data.pacing && data.pacing.fans) || []).forEach(function (fan) {
      var figure = document.querySelector('figure[data-fan="' + CSS.escape(fan.channel) + '"]');
      if (figure) { fanChart(figure, fan); }
    });
  }

  // The page ---------------------------------------------------------------------------------------------

  var rows = data.channel_daily;
  var days = Array.from(new Set(rows.map(function (r) { return r.day; }))).sort();
  var channels = Array.from(new Set(rows.map(function (r) { return r.channel; }))).sort();

  function roas(spend, revenue) { return spend > 0 ? revenue / spend : null; }

  function channelCharts() {
    // Every channel gets a point on every day (missing days: none), so gaps show as gaps.
    var byKey = {};
    rows.forEach(function (r) { byKey[r.channel + "|" + r.day] = r; });
    function series(metric) {
      return channels.map(function (channel) {
        return {
          name: channel,
          points: days.filter(function (day) { return byKey[channel + "|" + day]; })
            .map(function (day) { return [day, metric(byKey[channel + "|" + day])]; })
        };
      });
    }
    var totals = {};
    rows.forEach(function (r) {
      var t = totals[r.day] || (totals[r.day] = { spend: 0, revenue: 0 });
      t.spend += r.spend || 0;
      t.revenue += r.revenue || 0;
    });
    var roasSeries = series(function (r) { return roas(r.spend, r.revenue); });
    if (channels.length > 1) {
      roasSeries.push({
        name: ALL,
        points: days.map(function (day) { return [day, roas(totals[day].spend, totals[day].revenue)]; })
      });
    }
    lineChart(chart("spend"), series(function (r) { return r.spend; }), days, moneyTick);
    lineChart(chart("revenue"), series(function (r) { return r.revenue; }), days, moneyTick);
    lineChart(chart("roas"), roasSeries, days, ratioTick);

    function bar(c, value) {
      var suffix = "(" + (c.account_name || c.account_id) + ")";
      return { label: c.campaign_name + " " + suffix, name: c.campaign_name, suffix: suffix, value: value,
        series: c.channel };
    }
    barChart(chart("top-spend"), data.top_by_spend.map(function (c) { return bar(c, c.spend); }), money);
    barChart(chart("top-roas"), data.top_by_roas.map(function (c) { return bar(c, c.roas); }),
      function (v) { return number(v, 2); });
  }

  function kpis() {
    var all = (data.totals || []).filter(function (t) { return t.channel === ALL; })[0];
    if (!all) { return; }
    var box = document.getElementById("kpis");
    [["Spend", money(all.spend)], ["Revenue", money(all.revenue)], ["ROAS", number(all.roas, 2)],
      ["Conversions", number(all.conversions, 0)], ["CPA", money(all.cpa)]]
      .forEach(function (kpi) { addKpi(box, kpi[0], kpi[1], false); });
  }

  function addKpi(parent, label, value, alert) {
    var box = html("div", { "class": "kpi" + (alert ? " alert" : ""), "data-kpi": label }, parent);
    html("div", { "class": "label" }, box, label);
    html("div", { "class": "value" }, box, value);
  }

  // Volume checks ------------------------------------------------------------------------------------

  var checks = data.checks;
  var rank = {};
  data.statuses.forEach(function (status, i) { rank[status] = i; });
  function statusName(status) { return status.replace(/_/g, " "); }

  function checkSummary() {
    if (!checks.length) { return; }
    var counts = {};
    data.statuses.forEach(function (status) { counts[status] = 0; });
    checks.forEach(function (c) { counts[c.status] = (counts[c.status] || 0) + 1; });
    document.getElementById("checks-run").textContent = "(run " + data.checks_run_id + ")";
    document.getElementById("checks-summary").textContent = checks.length + " checks: " +
      data.statuses.map(function (s) { return counts[s] + " " + statusName(s); }).join(", ");
    addKpi(document.getElementById("kpis"), "Volume anomalies", String(counts.anomaly), counts.anomaly > 0);

    var flagged = checks.filter(function (c) { return c.status !== "ok"; })
      .sort(function (a, b) {
        return rank[a.status] - rank[b.status] || (a.day < b.day ? -1 : a.day > b.day ? 1 : 0) ||
          (a.connector + a.account_id + a.metric < b.connector + b.account_id + b.metric ? -1 : 1);
      });
    document.getElementById("flagged-title").textContent = flagged.length ?
      flagged.length + " of " + checks.length + " checks are not ok (all listed" +
        (flagged.length > 15 ? "; the table scrolls" : "") + ")" :
      "All " + checks.length + " checks are ok";
    var body = document.querySelector("#flagged-checks tbody");
    flagged.forEach(function (c) {
      var tr = html("tr", {
        "class": "status-" + c.status, "data-status": c.status, "data-connector": c.connector, "data-account": c.account_id
      }, body);
      var change = c.observed !== null && c.baseline ? (c.observed / c.baseline - 1) * 100 : null;
      var digits = c.metric === "rows" ? 0 : 2;
      [
        [statusName(c.status), "wrap"], [c.connector + " · " + c.account_id, "wrap"], [c.day, ""], [c.metric, ""],
        [number(c.observed, digits), "num"], [number(c.baseline, digits), "num"],
        [change === null ? "-" : (change > 0 ? "+" : "") + number(change, 0) + "%", "num"],
        [number(c.deviation, 1), "num"], [c.reason || "", "wrap"]
      ].forEach(function (cellValue) { html("td", { "class": cellValue[1] }, tr, cellValue[0]); });
    });
    if (!flagged.length) { document.getElementById("flagged-box").hidden = true; }
  }

  // One row per connector, account and metric, one column per day; a cell per check, coloured by status.
  function heatmap() {
    var figure = chart("checks");
    var width = canvas(figure);
    if (!checks.length) { empty(figure, "No volume checks yet."); return; }
    var byRow = {}, daySet = {}, metrics = {};
    checks.forEach(function (c) {
      var unit = c.connector + " · " + c.account_id;
      (byRow[unit] || (byRow[unit] = {}));
      (byRow[unit][c.metric] || (byRow[unit][c.metric] = [])).push(c);
      daySet[c.day] = true;
      metrics[c.metric] = true;
    });
    var units = Object.keys(byRow).sort();
    var metricNames = Object.keys(metrics).sort();
    var first = Object.keys(daySet).sort()[0];
    var last = Object.keys(daySet).sort().pop();
    var span = Math.round((parseDay(last) - parseDay(first)) / DAY_MS) + 1;
    var unitWidth = Math.min(Math.ceil(widest(units)), Math.floor(width * 0.35));
    var metricWidth = Math.ceil(widest(metricNames, "tick metric"));
    var left = unitWidth + metricWidth + 18;
    var cell = Math.max(2, Math.min(14, Math.floor((width - left - 4) / span)));
    var rowHeight = 11, gap = 6, top = 4, bottom = 22;
    var rowCount = 0;
    units.forEach(function (unit) { rowCount += Object.keys(byRow[unit]).length; });
    var height = top + rowCount * (rowHeight + 1) + units.length * gap + bottom;
    var svg = svgOf(figure, left + span * cell + 4, height);
    var y = top;
    units.forEach(function (unit) {
      var unitMetrics = Object.keys(byRow[unit]).sort();
      var blockHeight = unitMetrics.length * (rowHeight + 1);
      var shown = fit(unit, unitWidth);
      tip(el("text", { "class": "tick unit", x: unitWidth, y: y + blockHeight / 2 + 4, "text-anchor": "end" },
        svg, shown), unit);
      unitMetrics.forEach(function (metric) {
        el("text", { "class": "tick metric", x: left - 6, y: y + rowHeight - 2, "text-anchor": "end" }, svg, metric);
        byRow[unit][metric].forEach(function (c) {
          var col = Math.round((parseDay(c.day) - parseDay(first)) / DAY_MS);
          tip(el("rect", {
            x: left + col * cell, y: y, width: Math.max(1, cell - 1), height: rowHeight,
            fill: STATUS_COLORS[c.status] || "#ddd", "data-status": c.status, "data-connector": c.connector,
            "data-account": c.account_id, "data-metric": c.metric, "data-day": c.day
          }, svg), unit + " " + c.metric + " " + c.day + ": " + statusName(c.status) + (c.reason ? " (" + c.reason + ")" : ""));
        });
        y += rowHeight + 1;
      });
      y += gap;
    });
    var tickWidth = textWidth("28 Sep") + 14;
    var step = [1, 2, 7, 14, 28, 56, 91, 182, 364].filter(function (s) {
      return Math.ceil(span / s) * tickWidth <= span * cell;
    })[0] || span;
    for (var col = span - 1; col >= 0; col -= step) {
      var label = shortDay(addDays(first, col));
      var half = textWidth(label) / 2;
      var cx = Math.min(Math.max(left + col * cell + cell / 2, left + half), left + span * cell - half);
      el("text", { "class": "tick day", x: cx, y: height - 6, "text-anchor": "middle" }, svg, label);
    }
    var list = html("ul", { "class": "legend" }, figure);
    var counts = {};
    checks.forEach(function (c) { counts[c.status] = (counts[c.status] || 0) + 1; });
    data.statuses.forEach(function (status) {
      html("li", { style: "--swatch: " + STATUS_COLORS[status] }, list,
        statusName(status) + " (" + (counts[status] || 0) + ")");
    });
  }

  // Reconciliation with the platforms -------------------------------------------------------------------

  function plural(count, word) { return number(count, 0) + " " + word + (count === 1 ? "" : "s"); }

  // Exact decimal text from the JSON ("-1234.500000") with thousands separators, its trailing zeros trimmed
  // down to `digits` decimals ("-1,234.50"); `signed` adds "+" to positive values. No float on the way.
  function exact(text, digits, signed) {
    if (text === null || text === undefined) { return "-"; }
    var negative = text.charAt(0) === "-";
    var parts = (negative ? text.slice(1) : text).split(".");
    var fraction = (parts[1] || "").replace(/0+$/, "");
    while (fraction.length < digits) { fraction += "0"; }
    var value = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction ? "." + fraction : "");
    var zero = !/[1-9]/.test(value);
    return (negative && !zero ? "-" : signed && !zero ? "+" : "") + value;
  }

  // The decimals an account currency is shown with: JPY 0, KWD 3, others (and codes Intl does not know) 2.
  function currencyDigits(code) {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: code }).resolvedOptions()
        .maximumFractionDigits;
    } catch (e) {
      return 2;
    }
  }

  function reconciliation() {
    var r = data.reconciliation;
    var verdict = document.getElementById("reconciliation-verdict");
    var title = document.getElementById("reconciliation-mismatches-title");
    function hide() {
      document.getElementById("reconciliation-channels-box").hidden = true;
      document.getElementById("reconciliation-mismatches-box").hidden = true;
      title.hidden = true;
    }
    if (!r) {
      verdict.textContent = "Reconciliation has not run yet for this warehouse: " + data.reconciliation_table +
        " does not exist. The next pipeline run (mdp run) builds it with the marts and compares every " +
        "account-day it loads with the platform's own totals.";
      verdict.setAttribute("data-state", "not-run");
      hide();
      return;
    }
    if (!r.channels.length) {
      verdict.textContent = "No account-day in " + data.reconciliation_table + " for this period.";
      verdict.setAttribute("data-state", "empty");
      hide();
      return;
    }
    var checked = 0, mismatched = 0, reconciled = 0;
    r.channels.forEach(function (c) {
      checked += c.checked;
      mismatched += c.mismatched;
      if (c.checked) { reconciled += 1; }
    });
    var unchecked = r.channels.filter(function (c) { return c.unchecked; }).map(function (c) {
      return labelOf(c.channel) + " " + plural(c.unchecked, "account-day");
    });
    var line = checked ?
      plural(checked, "account-day") + " of " + plural(reconciled, "channel") +
        " reconciled with the platforms' own totals: " +
        (mismatched ? plural(mismatched, "account-day") + (mismatched === 1 ? " differs" : " differ") :
          "all within tolerance") :
      "No account-day of the period could be reconciled with the platforms' own totals";
    line += unchecked.length ? "; unchecked (no platform totals loaded): " + unchecked.join(", ") :
      "; none unchecked";
    verdict.textContent = line + ".";
    verdict.setAttribute("data-state", mismatched ? "mismatch" : checked ? "ok" : "unchecked");
    document.getElementById("reconciliation-caption").textContent = r.period[0] + " to " + r.period[1] +
      "; an account-day is one channel, ad account and day: mismatched when any of spend, conversion value, " +
      "impressions, clicks or conversions is outside its tolerance, unchecked when no platform totals were " +
      "loaded for it; the spend difference sums the checked days in each account currency";

    var body = document.querySelector("#reconciliation-channels tbody");
    r.channels.forEach(function (c) {
      var tr = html("tr", { "data-channel": c.channel, "class": c.mismatched ? "mismatch" : "" }, body);
      var th = html("th", { scope: "row" }, tr);
      html("span", { "class": "swatch", style: "--swatch: " + colorOf(c.channel) }, th);
      th.appendChild(document.createTextNode(labelOf(c.channel)));
      [c.account_days, c.checked, c.ok, c.mismatched, c.unchecked].forEach(function (count) {
        html("td", { "class": "num" }, tr, number(count, 0));
      });
      var cell = html("td", { "class": "num" }, tr);
      if (!c.spend_difference.length) { cell.textContent = "-"; }
      c.spend_difference.forEach(function (d) {
        html("span", { "class": "amount", "data-currency": d.currency || "", "data-amount": d.amount }, cell,
          exact(d.amount, currencyDigits(d.currency), true) + " " + (d.currency || ""));
      });
    });

    var rows = r.mismatches;
    var days = new Set(rows.map(function (m) { return m.channel + "|" + m.account_id + "|" + m.day; })).size;
    if (!rows.length) {
      title.textContent = checked ? "No mismatches: every checked account-day is within tolerance." :
        "No mismatches (nothing was checked).";
      title.setAttribute("data-count", "0");
      document.getElementById("reconciliation-mismatches-box").hidden = true;
      return;
    }
    title.textContent = plural(rows.length, "mismatched metric") + " in " + plural(days, "account-day") +
      " (all listed, worst spend difference first" + (rows.length > 15 ? "; the table scrolls" : "") + ")";
    title.setAttribute("data-count", String(rows.length));
    var tbody = document.querySelector("#reconciliation-mismatches tbody");
    rows.forEach(function (m) {
      var tr = html("tr", {
        "data-channel": m.channel, "data-account": m.account_id, "data-day": m.day, "data-metric": m.metric,
        "data-platform": m.platform, "data-landed": m.landed, "data-difference": m.difference
      }, tbody);
      var digits = m.money ? currencyDigits(m.currency) : 0;
      [
        [labelOf(m.channel) + " · " + m.account_id, "wrap"], [m.day, ""], [m.metric.replace(/_/g, " "), "wrap"],
        [exact(m.platform, digits), "num"], [exact(m.landed, digits), "num"],
        [exact(m.difference, digits, true), "num"], [m.money ? (m.currency || "") : "-", ""]
      ].forEach(function (value) { html("td", { "class": value[1] }, tr, value[0]); });
      tr.cells[5].title = "tolerance " + exact(m.tolerance, 0);
    });
  }

  function draw() {
    if (!data.marts_missing.length) { channelCharts(); }
    fans();
    heatmap();
  }

  if (!data.marts_missing.length) { kpis(); }
  reconciliation();
  checkSummary();
  draw();
  var drawnWidth = document.documentElement.clientWidth, pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      if (document.documentElement.clientWidth !== drawnWidth) {
        drawnWidth = document.documentElement.clientWidth;
        draw();
      }
    }, 150);
  });
  document.body.setAttribute("data-rendered", "true");
})();
