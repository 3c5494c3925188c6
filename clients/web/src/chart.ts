// The benchmark's live throughput chart: receiver and sender rate per interval, on a canvas.
import { bits } from "./format";

interface Point {
  t: number; // seconds since the start
  rx: number; // receiver bit/s
  tx: number; // sender bit/s
}

const PAD = { left: 10, right: 12, top: 24, bottom: 24 };

/** A round axis maximum at or above v (1, 2 or 5 times a power of ten). */
function niceMax(v: number): number {
  if (v <= 0) return 1e6;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export class ThroughputChart {
  private points: Point[] = [];

  constructor(private readonly canvas: HTMLCanvasElement) {
    window.addEventListener("resize", () => this.draw());
  }

  reset(): void {
    this.points = [];
    this.draw();
  }

  add(elapsedMs: number, rxBps: number, txBps: number): void {
    this.points.push({ t: elapsedMs / 1000, rx: rxBps, tx: txBps });
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    // Draw at device resolution and at the width CSS gave the canvas (phones are narrow).
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || c.width;
    const h = c.clientHeight || c.height;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pts = this.points;
    c.dataset.points = String(pts.length);
    const last = pts[pts.length - 1];
    c.setAttribute(
      "aria-label",
      last
        ? `Throughput chart: ${pts.length} intervals, latest ${bits(last.rx)} received, ${bits(last.tx)} sent`
        : "Throughput chart: no benchmark yet",
    );
    const tMax = Math.max(1, ...pts.map((p) => p.t));
    const yMax = niceMax(Math.max(0, ...pts.map((p) => Math.max(p.rx, p.tx))));
    const x = (t: number): number => PAD.left + (t / tMax) * (w - PAD.left - PAD.right);
    const y = (v: number): number => h - PAD.bottom - (v / yMax) * (h - PAD.top - PAD.bottom);

    g.strokeStyle = "#bbb";
    g.fillStyle = "#444";
    g.font = "12px sans-serif";
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(PAD.left, PAD.top);
    g.lineTo(PAD.left, h - PAD.bottom);
    g.lineTo(w - PAD.right, h - PAD.bottom);
    g.stroke();
    // Axis labels inside the plot's corners, so a narrow (phone) chart never clips them.
    g.textAlign = "left";
    g.fillText(bits(yMax), PAD.left + 4, PAD.top - 8);
    g.fillText("0", PAD.left + 4, h - PAD.bottom - 4);
    g.textAlign = "right";
    g.fillText(`${tMax.toFixed(1)} s`, w - PAD.right, h - 8);
    g.textAlign = "left";
    if (pts.length === 0) {
      g.fillText("Start a benchmark to see its throughput here.", PAD.left + 8, h / 2);
      return;
    }
    const line = (pick: (p: Point) => number, color: string, dash: number[]): void => {
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.setLineDash(dash);
      g.beginPath();
      g.moveTo(x(0), y(pick(pts[0])));
      for (const p of pts) g.lineTo(x(p.t), y(pick(p)));
      g.stroke();
      g.setLineDash([]);
    };
    line((p) => p.tx, "#c77700", [5, 4]);
    line((p) => p.rx, "#0b63c5", []);
    g.textAlign = "right";
    g.fillStyle = "#c77700";
    g.fillText("- - sent", w - PAD.right, 14);
    g.fillStyle = "#0b63c5";
    g.fillText("— received", w - PAD.right - 60, 14);
  }
}
