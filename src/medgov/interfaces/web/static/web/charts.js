// Draw every chart on the page from its JSON data island (no inline scripts: the CSP forbids them).
(function () {
  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    root.querySelectorAll("[data-plotly]").forEach(function (element) {
      if (element.dataset.drawn) { return; }
      var source = document.getElementById(element.dataset.plotly);
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var config = Object.assign({ displaylogo: false, responsive: true }, figure.config || {});
      Plotly.newPlot(element, figure.data, figure.layout || {}, config);
      element.dataset.drawn = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
