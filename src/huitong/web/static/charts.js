/* Huitong charts: every element with data-chart is drawn with ECharts from the JSON in the element named by
   data-source. No inline scripts, so the Content-Security-Policy can forbid them. Kinds:
   - "trend":  {"series name": [["2026-01-01 08:00", 5.4], ...], ...}   time axis, one line per series
   - "bar":    {"labels": [...], "values": [...], "max": 100}
   - "hourly": {"values": [24 numbers]}                                  visits per hour of the day
   - "stacked": {"labels": [...], "series": {"name": [numbers], ...}}    stacked bars, one colour per series
   - "months": {"labels": ["2024-01", ...], "series": {"name": [number or null, ...]}, "target": number or null}
               one line per series over a year's months (a gap where a month has no value), the target dashed
   - "tpr":    {"labels": {key: name}, "series": {key: [["2026-11-21 06:00", 37.2], ...]}}   the 体温单:
               temperature (°C, left) with pulse and respiration (/min, right) above, blood pressure below */
(function () {
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var kind = el.getAttribute("data-chart");
    var option;
    if (kind === "trend") {
      option = { tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "time" }, yAxis: { type: "value" },
                 series: Object.keys(data).slice(0, 8).map(function (name) {
                   return { name: name, type: "line", data: data[name] };
                 }) };
    } else if (kind === "bar") {
      option = { tooltip: {}, xAxis: { type: "category", data: data.labels },
                 yAxis: { type: "value", max: data.max }, series: [{ type: "bar", data: data.values }] };
    } else if (kind === "hourly") {
      var hours = []; for (var h = 0; h < 24; h++) { hours.push(h + ":00"); }
      option = { tooltip: {}, xAxis: { type: "category", data: hours }, yAxis: { type: "value" },
                 series: [{ type: "line", areaStyle: {}, data: data.values }] };
    } else if (kind === "stacked") {
      option = { animation: false, tooltip: { trigger: "axis" }, legend: {},
                 xAxis: { type: "category", data: data.labels }, yAxis: { type: "value", minInterval: 1 },
                 series: Object.keys(data.series).map(function (name) {
                   return { name: name, type: "bar", stack: "all", data: data.series[name] };
                 }) };
    } else if (kind === "months") {
      var names = Object.keys(data.series);
      option = { animation: false, tooltip: { trigger: "axis" }, legend: { show: names.length > 1, top: 0 },
                 grid: { left: 56, right: 24, top: names.length > 1 ? 36 : 16, bottom: 28 },
                 xAxis: { type: "category", data: data.labels.map(function (m) { return m.slice(5); }) },
                 yAxis: { type: "value", scale: true },
                 series: names.map(function (name, i) {
                   var line = { name: name, type: "line", data: data.series[name], symbolSize: 7 };
                   if (i === 0 && data.target !== null && data.target !== undefined) {
                     line.markLine = { symbol: "none", lineStyle: { type: "dashed", color: "#b42318" },
                                       label: { formatter: "{c}" }, data: [{ yAxis: data.target }] };
                   }
                   return line;
                 }) };
    } else if (kind === "tpr") {
      var s = data.series, l = data.labels;
      function line(key, grid, axis, color, symbol) {
        return { name: l[key], type: "line", xAxisIndex: grid, yAxisIndex: axis, data: s[key] || [],
                 itemStyle: { color: color }, lineStyle: { color: color }, symbol: symbol, symbolSize: 8 };
      }
      option = {
        animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
        axisPointer: { link: [{ xAxisIndex: "all" }] },
        grid: [{ top: 56, height: "46%", left: 50, right: 50 }, { top: "68%", bottom: 28, left: 50, right: 50 }],
        xAxis: [{ type: "time", gridIndex: 0, splitNumber: 7 }, { type: "time", gridIndex: 1, splitNumber: 7 }],
        yAxis: [{ type: "value", gridIndex: 0, min: 35, max: 42, name: "°C", interval: 1 },
                { type: "value", gridIndex: 0, min: 20, max: 160, name: "/min", interval: 20 },
                { type: "value", gridIndex: 1, min: 40, max: 200, name: "mmHg" }],
        series: [line("temperature", 0, 0, "#0b5394", "diamond"), line("pulse", 0, 1, "#b42318", "circle"),
                 line("respiration", 0, 1, "#1a7f37", "triangle"), line("systolic", 1, 2, "#8a5a00", "arrow"),
                 line("diastolic", 1, 2, "#52606d", "rect")]
      };
    } else { return; }
    echarts.init(el).setOption(option);
  }
  function drawAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-chart]"), draw);
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
