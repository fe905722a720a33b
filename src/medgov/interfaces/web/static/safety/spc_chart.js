// Draws the SPC chart whose data the page embeds as JSON (id "spc-chart-data") into #spc-chart.
(function () {
  "use strict";
  var holder = document.getElementById("spc-chart");
  var source = document.getElementById("spc-chart-data");
  if (!holder || !source || typeof Plotly === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var line = function (name, y, style) {
    return { x: data.x, y: y, name: name, mode: "lines", line: style, hoverinfo: "skip" };
  };
  var traces = [
    { x: data.x, y: data.values, name: "value", mode: "lines+markers", line: { color: "#0b5cad" } },
    line("centre", data.centre, { color: "#1b2430", width: 1 }),
    line("upper limit", data.upper, { color: "#b3261e", width: 1, dash: "dash" }),
    line("lower limit", data.lower, { color: "#b3261e", width: 1, dash: "dash" })
  ];
  var layout = { margin: { t: 20, r: 20, b: 40, l: 50 }, height: 340, showlegend: true, legend: { orientation: "h" } };
  if (data.marker) {
    layout.shapes = [{ type: "line", x0: data.marker, x1: data.marker, yref: "paper", y0: 0, y1: 1, line: { color: "#1f7a3a", width: 2 } }];
    layout.annotations = [{ x: data.marker, yref: "paper", y: 1, text: data.marker_label, showarrow: false, yanchor: "bottom" }];
  }
  Plotly.newPlot(holder, traces, layout, { displaylogo: false, responsive: true });
})();
