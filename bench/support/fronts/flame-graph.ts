/**
 * A flame graph of a V8 CPU profile as a self-contained SVG: one box per function on a call
 * path, as wide as the time sampled in it and what it called, callers below callees. Frames are
 * named with their TypeScript file:line (through the built files' source maps) and coloured by
 * module, the project's own code apart from its dependencies and Node's. Hovering a box shows
 * its name, milliseconds and share.
 */
import { IDLE, locationOf, moduleOf, parentsOf, windowedSelfUs, type CpuProfile, type TimeWindow } from './cpu-profile-summary.js';

/** Layout of the picture, pixels. */
const WIDTH = 1200;
const FRAME_HEIGHT = 17;
const TOP_MARGIN = 40;
const SIDE_MARGIN = 10;
/** Narrower boxes are left out: they would be invisible and only weigh the file down. */
const MIN_BOX_WIDTH = 0.5;
/** Approximate width of one character of the 11 px label font. */
const CHAR_WIDTH = 6.6;

interface Frame {
  label: string;
  module: string;
  us: number;
  children: Map<string, Frame>;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Warm colours for dependencies and Node, blues for the project's packages, grey for V8's own pseudo-frames. */
function colourOf(module: string): string {
  let hash = 0;
  for (const char of module) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  if (module.startsWith('@infermesh/')) return `hsl(${200 + (hash % 40)}, 60%, ${62 + (hash % 12)}%)`;
  if (module.startsWith('(')) return 'hsl(0, 0%, 75%)';
  return `hsl(${10 + (hash % 45)}, 80%, ${58 + (hash % 14)}%)`;
}

/** The call tree of the samples inside `windows`, idle left out, with identical call paths merged. */
export function callTree(profile: CpuProfile, windows: readonly TimeWindow[] = []): Frame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = parentsOf(profile);
  const labels = new Map<number, { label: string; module: string }>();
  const describe = (id: number) => {
    let known = labels.get(id);
    if (known === undefined) {
      const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
      const location = locationOf(url, lineNumber, columnNumber);
      known = { label: `${functionName || '(anonymous)'}${location === '' ? '' : ` ${location}`}`, module: moduleOf(url, functionName) };
      labels.set(id, known);
    }
    return known;
  };
  const root: Frame = { label: 'all', module: '(root)', us: 0, children: new Map() };
  for (const [id, us] of windowedSelfUs(profile, windows)) {
    if (byId.get(id)!.callFrame.functionName === IDLE) continue;
    const path: number[] = [];
    // The profile's own (root) node is the picture's root.
    for (let current: number | undefined = id; current !== undefined && parentOf.has(current); current = parentOf.get(current)) path.push(current);
    root.us += us;
    let frame = root;
    for (const node of path.reverse()) {
      const { label, module } = describe(node);
      let child = frame.children.get(label);
      if (child === undefined) frame.children.set(label, (child = { label, module, us: 0, children: new Map() }));
      child.us += us;
      frame = child;
    }
  }
  return root;
}

/** The flame graph of `profile` (only the samples inside `windows` when any are given) as an SVG document. */
export function flameGraphSvg(profile: CpuProfile, title: string, windows: readonly TimeWindow[] = []): string {
  const root = callTree(profile, windows);
  const scale = root.us === 0 ? 0 : (WIDTH - 2 * SIDE_MARGIN) / root.us;
  const boxes: { frame: Frame; x: number; depth: number }[] = [];
  let maxDepth = 0;
  const place = (frame: Frame, x: number, depth: number) => {
    if (frame.us * scale < MIN_BOX_WIDTH) return;
    boxes.push({ frame, x, depth });
    maxDepth = Math.max(maxDepth, depth);
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => a.label.localeCompare(b.label))) {
      place(child, childX, depth + 1);
      childX += child.us * scale;
    }
  };
  place(root, SIDE_MARGIN, 0);
  const height = TOP_MARGIN + (maxDepth + 1) * FRAME_HEIGHT + 10;
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Verdana, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf6"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (const { frame, x, depth } of boxes) {
    const width = frame.us * scale;
    const y = height - 10 - (depth + 1) * FRAME_HEIGHT;
    const share = root.us === 0 ? 0 : (100 * frame.us) / root.us;
    const tooltip = `${frame.label} — ${(frame.us / 1000).toFixed(1)} ms, ${share.toFixed(2)} %`;
    const fits = Math.floor((width - 6) / CHAR_WIDTH);
    const text = fits < 3 ? '' : frame.label.length <= fits ? frame.label : `${frame.label.slice(0, fits - 2)}..`;
    lines.push(
      `<g><title>${escapeXml(tooltip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${colourOf(frame.module)}"/>` +
        (text === '' ? '' : `<text x="${(x + 3).toFixed(2)}" y="${y + FRAME_HEIGHT - 5}">${escapeXml(text)}</text>`) +
        '</g>',
    );
  }
  lines.push('</svg>');
  return `${lines.join('\n')}\n`;
}
