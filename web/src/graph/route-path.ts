/** SVG paths for edges (pure). */

/**
 * An SVG path through flat points `[x0, y0, x1, y1, ...]` (an ELK orthogonal route), each bend
 * rounded with a quadratic curve of up to `radius`.
 */
export function polylinePath(points: ArrayLike<number>, radius = 6): string {
  const count = points.length / 2;
  if (count < 2) return '';
  const x = (i: number) => points[2 * i];
  const y = (i: number) => points[2 * i + 1];
  let d = `M${x(0)},${y(0)}`;
  for (let i = 1; i < count - 1; i++) {
    const inLength = Math.hypot(x(i) - x(i - 1), y(i) - y(i - 1));
    const outLength = Math.hypot(x(i + 1) - x(i), y(i + 1) - y(i));
    const r = Math.min(radius, inLength / 2, outLength / 2);
    if (r <= 0) {
      d += ` L${x(i)},${y(i)}`;
      continue;
    }
    const bx = x(i) - ((x(i) - x(i - 1)) / inLength) * r;
    const by = y(i) - ((y(i) - y(i - 1)) / inLength) * r;
    const ax = x(i) + ((x(i + 1) - x(i)) / outLength) * r;
    const ay = y(i) + ((y(i + 1) - y(i)) / outLength) * r;
    d += ` L${round(bx)},${round(by)} Q${x(i)},${y(i)} ${round(ax)},${round(ay)}`;
  }
  return `${d} L${x(count - 1)},${y(count - 1)}`;
}

const round = (v: number) => Math.round(v * 10) / 10;
