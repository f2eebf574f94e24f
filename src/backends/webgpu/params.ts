// One description per uniform struct: the WGSL struct text and the byte packing both come from it, so the
// shader and the host can never disagree on a field's offset.

/** Field types a uniform may hold. All are 4 bytes, so a field's offset is 4 * its index. */
export type ScalarType = 'u32' | 'i32' | 'f32';

export interface ParamsLayout<K extends string> {
  readonly structName: string;
  readonly fields: readonly (readonly [K, ScalarType, string?])[];
  /** Size in bytes, rounded up to 16 (a uniform buffer binding must be a multiple of 16). */
  readonly byteSize: number;
  /** `struct Name { field: type, ... }` */
  readonly wgsl: string;
  /** Writes `values` into `view` (reused by the caller: packing allocates nothing). */
  pack(values: Readonly<Record<K, number>>, view: DataView): void;
}

/**
 * Describe a uniform struct. Each field is [name, type, comment?]; the comment travels into the WGSL so a
 * shader reader sees the same documentation as the host side.
 */
export function defineParams<K extends string>(structName: string, fields: readonly (readonly [K, ScalarType, string?])[]): ParamsLayout<K> {
  const byteSize = Math.ceil((fields.length * 4) / 16) * 16;
  const wgsl = `struct ${structName} {\n${fields.map(([n, t, c]) => `  ${n}: ${t},${c ? ` // ${c}` : ''}`).join('\n')}\n}`;
  const pack = (values: Readonly<Record<K, number>>, view: DataView): void => {
    for (let i = 0; i < fields.length; i++) {
      const [name, type] = fields[i];
      const v = values[name];
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    }
  };
  return { structName, fields, byteSize, wgsl, pack };
}
