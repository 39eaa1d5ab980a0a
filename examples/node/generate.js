#!/usr/bin/env node
// Generate a brain map with a sematlas ONNX generator (`sematlas export onnx`) and write it as an MNI152 NIfTI-1 file.
//
//   node generate.js MODEL.onnx OUT.nii.gz [--topic NAME|INDEX ...] [--year Y] [--space MNI|TAL] [--n-peaks N] [--seed S] [--check]
//
// Everything the script needs to know about the model comes from the ONNX file's metadata (metadata_props): the grid
// and its affine (`grid`), and where each condition sits in the condition vector and how it is encoded (`conditions`).
// Conditions not given are missing (mask bit 0): the graph fills them with the training means. The latent code is
// zero (the model's typical map for the conditions) unless --seed draws one from the standard normal prior.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function fail(msg) { console.error(`generate.js: ${msg}`); process.exit(2); }

// --- ONNX metadata: ModelProto field 14 (metadata_props), pairs of key (1) and value (2); onnxruntime-node does not expose it.
function readVarint(buf, pos) {
  let value = 0, mul = 1, b;
  do {
    if (pos >= buf.length) throw new Error('truncated varint');
    b = buf[pos++]; value += (b & 0x7f) * mul; mul *= 128;
  } while (b & 0x80);
  return [value, pos];
}
function fields(buf, start, end, onField) {
  let pos = start;
  while (pos < end) {
    let key; [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) { [, pos] = readVarint(buf, pos); }
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len; [len, pos] = readVarint(buf, pos);
      if (pos + len > end) throw new Error('truncated field');
      onField(field, pos, pos + len); pos += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}
function onnxMetadata(buf) {
  const meta = {};
  fields(buf, 0, buf.length, (f, s, e) => {
    if (f !== 14) return;
    let key = '', value = '';
    fields(buf, s, e, (g, a, b) => { if (g === 1) key = buf.toString('utf8', a, b); if (g === 2) value = buf.toString('utf8', a, b); });
    meta[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
  });
  return meta;
}

// --- Command line.
function parseArgs(argv) {
  const pos = [], opt = {topic: []};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { pos.push(a); continue; }
    const name = a.slice(2);
    if (name === 'check' || name === 'help') { opt[name] = true; continue; }
    if (!['topic', 'year', 'space', 'n-peaks', 'seed'].includes(name)) fail(`unknown option ${a}`);
    if (i + 1 >= argv.length) fail(`${a} needs a value`);
    if (name === 'topic') opt.topic.push(argv[++i]); else opt[name] = argv[++i];
  }
  if (opt.help || pos.length !== 2) {
    console.log('usage: node generate.js MODEL.onnx OUT.nii[.gz] [--topic NAME|INDEX ...] [--year Y] [--space MNI|TAL] [--n-peaks N] [--seed S] [--check]');
    process.exit(opt.help ? 0 : 2);
  }
  return [pos[0], pos[1], opt];
}
function number(opt, name) {
  const v = Number(opt[name]);
  if (!Number.isFinite(v)) fail(`--${name} must be a number, got ${JSON.stringify(opt[name])}`);
  return v;
}

// --- The condition vector, from the layout in the metadata (see sematlas.release.onnx.condition_layout).
function findTopic(names, q) {
  if (/^\d+$/.test(q)) {
    const i = Number(q);
    if (i >= names.length) fail(`topic index ${i} out of range 0..${names.length - 1}`);
    return i;
  }
  const low = q.toLowerCase();
  let i = names.findIndex(n => n.toLowerCase() === low);
  if (i < 0) i = names.findIndex(n => n.toLowerCase().split('_').includes(low));
  if (i < 0) fail(`no topic named ${JSON.stringify(q)}; topics are ${names.join(', ')}`);
  return i;
}
function conditionVector(layout, opt) {
  const cond = new Float32Array(layout.dim), mask = new Float32Array(layout.n_fields), given = {};
  const field = name => layout.fields.find(f => f.name === name);
  const set = (name, values) => {
    const f = field(name);
    if (!f) fail(`this model has no ${name} condition (its conditions: ${layout.fields.map(f => f.name).join(', ')})`);
    values.forEach((v, k) => { cond[f.offset + k] = v; });
    mask[f.mask_index] = 1;
  };
  const c = layout.constants;
  if (opt.topic.length) {
    const K = layout.topic_names.length, w = new Float32Array(K);
    for (const q of opt.topic) w[findTopic(layout.topic_names, q)] += 1 / opt.topic.length;   // equal weights, summing to 1
    set('topics', Array.from(w, x => Math.sqrt(K * x)));
    given.topics = opt.topic.map(q => layout.topic_names[findTopic(layout.topic_names, q)]);
  }
  if (opt.year !== undefined) { set('year', [(number(opt, 'year') - c.YEAR_CENTER) / c.YEAR_SCALE]); given.year = number(opt, 'year'); }
  if (opt.space !== undefined) {
    const s = String(opt.space).toUpperCase();
    if (!c.SPACES.includes(s)) fail(`--space must be one of ${c.SPACES.join(', ')}, got ${opt.space}`);
    set('space', c.SPACES.map(x => (x === s ? 1 : 0))); given.space = s;
  }
  if (opt['n-peaks'] !== undefined) {
    const n = number(opt, 'n-peaks');
    if (n <= 0) fail('--n-peaks must be positive');
    set('n_peaks', [Math.log(n / c.PEAKS_CENTER)]); given.n_peaks = n;
  }
  return [cond, mask, given];
}

// --- A seeded standard-normal draw (mulberry32 + Box-Muller).
function normals(n, seed) {
  let a = seed >>> 0;
  const uniform = () => { a = (a + 0x6D2B79F5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

// --- NIfTI-1, single file: a 348-byte header, 4 bytes of (no) extension, float32 data with i fastest.
function quaternion(affine) {
  // nifti1_io's mat44_to_quatern for a rotation with scaling (the grids here are diagonal; the general case is kept).
  const col = k => [affine[0][k], affine[1][k], affine[2][k]];
  const norm = v => Math.hypot(...v);
  const dx = norm(col(0)), dy = norm(col(1)), dz = norm(col(2));
  const R = [0, 1, 2].map(r => [affine[r][0] / dx, affine[r][1] / dy, affine[r][2] / dz]);
  const det = R[0][0] * (R[1][1] * R[2][2] - R[1][2] * R[2][1]) - R[0][1] * (R[1][0] * R[2][2] - R[1][2] * R[2][0]) + R[0][2] * (R[1][0] * R[2][1] - R[1][1] * R[2][0]);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (const r of R) r[2] = -r[2];
  let a = R[0][0] + R[1][1] + R[2][2] + 1, b, c, d;
  if (a > 0.5) { a = 0.5 * Math.sqrt(a); b = 0.25 * (R[2][1] - R[1][2]) / a; c = 0.25 * (R[0][2] - R[2][0]) / a; d = 0.25 * (R[1][0] - R[0][1]) / a; }
  else {
    const xd = 1 + R[0][0] - (R[1][1] + R[2][2]), yd = 1 + R[1][1] - (R[0][0] + R[2][2]), zd = 1 + R[2][2] - (R[0][0] + R[1][1]);
    if (xd > 1) { b = 0.5 * Math.sqrt(xd); c = 0.25 * (R[0][1] + R[1][0]) / b; d = 0.25 * (R[0][2] + R[2][0]) / b; a = 0.25 * (R[2][1] - R[1][2]) / b; }
    else if (yd > 1) { c = 0.5 * Math.sqrt(yd); b = 0.25 * (R[0][1] + R[1][0]) / c; d = 0.25 * (R[1][2] + R[2][1]) / c; a = 0.25 * (R[0][2] - R[2][0]) / c; }
    else { d = 0.5 * Math.sqrt(zd); b = 0.25 * (R[0][2] + R[2][0]) / d; c = 0.25 * (R[1][2] + R[2][1]) / d; a = 0.25 * (R[1][0] - R[0][1]) / d; }
    if (a < 0) { b = -b; c = -c; d = -d; }
  }
  return {b, c, d, qfac, pixdim: [dx, dy, dz]};
}
function niftiBytes(data, shape, affine, description) {
  const hdr = Buffer.alloc(352);                             // 348-byte header + 4-byte extension flag (none)
  const [X, Y, Z] = shape;
  hdr.writeInt32LE(348, 0);
  hdr.write('r', 38, 'latin1');
  [3, X, Y, Z, 1, 1, 1, 1].forEach((v, k) => hdr.writeInt16LE(v, 40 + 2 * k));
  hdr.writeInt16LE(16, 70);                                  // datatype: NIFTI_TYPE_FLOAT32
  hdr.writeInt16LE(32, 72);                                  // bitpix
  const q = quaternion(affine);
  [q.qfac, ...q.pixdim, 1, 1, 1, 1].forEach((v, k) => hdr.writeFloatLE(v, 76 + 4 * k));
  hdr.writeFloatLE(352, 108);                                // vox_offset
  hdr.writeFloatLE(1, 112);                                  // scl_slope
  hdr.writeFloatLE(0, 116);                                  // scl_inter
  hdr.writeUInt8(2, 123);                                    // xyzt_units: NIFTI_UNITS_MM
  let max = 0; for (const v of data) if (v > max) max = v;
  hdr.writeFloatLE(max, 124); hdr.writeFloatLE(0, 128);      // cal_max, cal_min: the display range
  hdr.write(description.slice(0, 79), 148, 'latin1');        // descrip (80 bytes, NUL-terminated)
  hdr.writeInt16LE(4, 252);                                  // qform_code: NIFTI_XFORM_MNI_152
  hdr.writeInt16LE(4, 254);                                  // sform_code: NIFTI_XFORM_MNI_152
  [q.b, q.c, q.d, affine[0][3], affine[1][3], affine[2][3]].forEach((v, k) => hdr.writeFloatLE(v, 256 + 4 * k));
  for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) hdr.writeFloatLE(affine[r][k], 280 + 16 * r + 4 * k);
  hdr.write('n+1\0', 344, 'latin1');                         // magic: single file
  const body = Buffer.alloc(4 * X * Y * Z);
  // the graph's map is in C order (k fastest); NIfTI stores i fastest
  for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) for (let k = 0; k < Z; k++)
    body.writeFloatLE(data[(i * Y + j) * Z + k], 4 * (i + X * (j + Y * k)));
  return Buffer.concat([hdr, body]);
}

function writeAtomic(path, bytes) {
  const tmp = `${path}.${process.pid}.tmp`;
  try { fs.writeFileSync(tmp, bytes); fs.renameSync(tmp, path); }
  catch (e) { try { fs.unlinkSync(tmp); } catch (_) { /* nothing left */ } throw e; }
}

async function main() {
  const [modelPath, outPath, opt] = parseArgs(process.argv.slice(2));
  if (!/\.nii(\.gz)?$/.test(outPath)) fail(`${outPath}: the output is a NIfTI file, .nii or .nii.gz`);
  if (!fs.existsSync(modelPath)) fail(`${modelPath}: no such file`);
  let meta;
  try { meta = onnxMetadata(fs.readFileSync(modelPath)); } catch (e) { fail(`${modelPath}: not a readable ONNX file (${e.message})`); }
  if (!meta.grid || !['generator'].includes(meta.sematlas_graph))
    fail(`${modelPath}: not a sematlas map generator (graph ${JSON.stringify(meta.sematlas_graph)}); use a generator.onnx from \`sematlas export onnx\``);
  let session;
  try { session = await ort.InferenceSession.create(modelPath); } catch (e) { fail(`${modelPath}: onnxruntime cannot load it: ${e.message}`); }
  const latent = Number(meta.latent_dim), feeds = {}, given = {};
  if (meta.conditions) {
    const [cond, mask, g] = conditionVector(meta.conditions, opt);
    Object.assign(given, g);
    feeds.conditions = new ort.Tensor('float32', cond, [1, cond.length]);
    feeds.mask = new ort.Tensor('float32', mask, [1, mask.length]);
  } else if (opt.topic.length || opt.year !== undefined || opt.space !== undefined || opt['n-peaks'] !== undefined) {
    fail(`${meta.model_name} (${meta.model_kind}) is not conditional: it takes no --topic, --year, --space or --n-peaks`);
  }
  const z = opt.seed !== undefined ? normals(latent, number(opt, 'seed')) : new Float32Array(latent);
  feeds.z = new ort.Tensor('float32', z, [1, latent]);
  const out = await session.run(feeds);
  const map = out.map.data, shape = meta.grid.shape;
  if (out.map.dims.slice(1).join() !== shape.join()) fail(`the map is shaped ${out.map.dims}, the metadata's grid ${shape}`);
  const what = Object.entries(given).map(([k, v]) => `${k}=${v}`).join(' ') || 'average study';
  const bytes = niftiBytes(map, shape, meta.grid.affine, `sematlas ${meta.model_name} ${what}`);
  writeAtomic(outPath, outPath.endsWith('.gz') ? zlib.gzipSync(bytes) : bytes);
  let sum = 0, max = 0; for (const v of map) { sum += v; if (v > max) max = v; }
  console.log(`${outPath}: ${shape.join('x')} map at ${meta.grid.res_mm} mm (MNI152) from ${meta.model_name}, ${what}; max ${max.toPrecision(3)}, sum ${sum.toPrecision(4)}`);
  if (opt.check) await check(outPath, map, shape, meta.grid.affine);
}

// --check: read the file back with nifti-reader-js and compare header and data with what was written.
async function check(path, map, shape, affine) {
  const nifti = await import('nifti-reader-js');               // an ES module
  let raw = fs.readFileSync(path);
  let buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  if (nifti.isCompressed(buf)) buf = nifti.decompress(buf);
  if (!nifti.isNIFTI(buf)) fail(`${path}: nifti-reader-js does not read it as NIfTI`);
  const h = nifti.readHeader(buf);
  const img = new Float32Array(nifti.readImage(h, buf));
  const ok = h.dims.slice(1, 4).join() === shape.join() && h.sform_code === 4 && h.qform_code === 4 && h.datatypeCode === 16 &&
    [0, 1, 2].every(r => [0, 1, 2, 3].every(k => Math.abs(h.affine[r][k] - affine[r][k]) < 1e-5));
  let diff = 0;
  const [X, Y, Z] = shape;
  for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) for (let k = 0; k < Z; k++)
    diff = Math.max(diff, Math.abs(img[i + X * (j + Y * k)] - map[(i * Y + j) * Z + k]));
  if (!ok || diff > 0) fail(`${path}: read back wrong (header ok: ${ok}, largest difference ${diff})`);
  console.log(`${path}: read back by nifti-reader-js: dims ${h.dims.slice(1, 4).join('x')}, sform/qform code ${h.sform_code}/${h.qform_code}, data identical`);
}

main().catch(e => fail(e.stack || String(e)));
