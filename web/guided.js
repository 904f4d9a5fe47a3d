// Guided upsampling, the full-resolution half (fst.guided.guided_upsample): the fits that web/guided.onnx makes of
// the network's picture of a small copy of a frame against that copy's luminance (fst.guided_graph), brought to the
// frame's size bilinearly and applied to the frame's own luminance, in one pass over its pixels. The network then
// runs on a fraction of the pixels, and the picture keeps the frame's sharp edges instead of a blurred enlargement.
// Plain JavaScript, no imports: Node tests it against Python on the same numbers.

// For each of `full` positions, its two neighbours among `low` and the weight of the second: bilinear with pixel
// centres aligned, clamped at the borders (fst.guided.bilinear_taps).
function taps(full, low) {
  const first = new Int32Array(full), second = new Int32Array(full), weight = new Float32Array(full);
  for (let i = 0; i < full; i++) {
    const position = Math.min(Math.max((i + 0.5) * low / full - 0.5, 0), low - 1);
    first[i] = Math.floor(position);
    second[i] = Math.min(first[i] + 1, low - 1);
    weight[i] = position - first[i];
  }
  return { first, second, weight };
}

// The fits (6 planes of smallWidth x smallHeight: the slopes of R, G, B, then their offsets) brought to width x
// height and applied to the luminance of `pixels` (RGBA bytes of width x height); written into `rgba` (the same
// layout) blended with the frame by `strength`, as the page blends; `rgba` is a Uint8ClampedArray (ImageData's).
export function applyFits(fits, smallWidth, smallHeight, pixels, width, height, strength, rgba) {
  const across = taps(width, smallWidth), down = taps(height, smallHeight), plane = smallWidth * smallHeight;
  const row = new Float32Array(6 * smallWidth), keep = 1 - strength, scale = 255 * strength;
  for (let y = 0; y < height; y++) {  // this row's fits, from the two small rows around it, interleaved
    const top = down.first[y] * smallWidth, bottom = down.second[y] * smallWidth, w = down.weight[y];
    for (let f = 0; f < 6; f++) {
      for (let x = 0, at = f * plane; x < smallWidth; x++) {
        row[6 * x + f] = fits[at + top + x] + (fits[at + bottom + x] - fits[at + top + x]) * w;
      }
    }
    for (let x = 0; x < width; x++) {
      const left = 6 * across.first[x], right = 6 * across.second[x], v = across.weight[x], i = 4 * (y * width + x);
      const guide = (0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2]) / 255;
      for (let c = 0; c < 3; c++) {
        const slope = row[left + c] + (row[right + c] - row[left + c]) * v;
        const offset = row[left + 3 + c] + (row[right + 3 + c] - row[left + 3 + c]) * v;
        const value = Math.min(Math.max(slope * guide + offset, 0), 1);
        rgba[i + c] = scale * value + keep * pixels[i + c];  // ImageData's bytes round to the nearest
      }
      rgba[i + 3] = 255;
    }
  }
}
