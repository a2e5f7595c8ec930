/* Huitong charts: every element with data-chart is drawn with ECharts from the JSON in the element named by
   data-source. No inline scripts, so the Content-Security-Policy can forbid them. Kinds:
   - "trend":  {"series name": [["2026-01-01 08:00", 5.4], ...], ...}   time axis, one line per series
   - "bar":    {"labels": [...], "values": [...], "max": 100}
   - "hourly": {"values": [24 numbers]}                                  visits per hour of the day */
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
    } else { return; }
    echarts.init(el).setOption(option);
  }
  function drawAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-chart]"), draw);
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
