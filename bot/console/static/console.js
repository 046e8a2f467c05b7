/* Draws the overview's charts with the self-served Chart.js. Each <canvas data-chart="…">
   carries its data as JSON; the tables under the charts show the same figures without
   JavaScript. No inline script: the console's Content-Security-Policy allows only 'self'. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var stacked = spec.series.some(function (s) { return s.stacked; });
    new Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s) {
          return {
            label: s.label, data: s.data, backgroundColor: s.colour, borderColor: s.colour,
            stack: s.stacked ? "all" : undefined, spanGaps: false, tension: 0.2
          };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { title: { display: true, text: spec.title }, legend: { position: "bottom" } },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } }
      }
    });
  });
})();
