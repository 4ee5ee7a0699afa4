import fc from 'fast-check';
import { anyCodePoint } from './code-points';

/** Strings of a unit, drawn with fixed seeds (fast-check also slips in its "dangerous" strings, such as __proto__). */
const drawn = (unit: fc.Arbitrary<string> | 'binary', seed: number) =>
  fc.sample(fc.string({ unit, maxLength: 40 }), { seed, numRuns: 500 });

describe('anyCodePoint, the string unit that stands in for fast-check\'s binary', () => {
  test('draws the same strings as unit: binary, seed for seed', () => {
    for (const seed of [1, 42, 20261203]) expect(drawn(anyCodePoint, seed)).toEqual(drawn('binary', seed));
  });

  test('a mapping that leaves the surrogate gap out draws other strings', () => {
    const withoutGap = fc.nat({ max: 0x110000 - 0x800 - 1 }).map((index) => String.fromCodePoint(index));
    expect(drawn(withoutGap, 42)).not.toEqual(drawn('binary', 42));
  });

  test('recognizes exactly single code points outside the surrogates, as shrinking needs', () => {
    expect(['a', '\u{10ffff}', '\ud7ff', '\ue000'].map((value) => anyCodePoint.canShrinkWithoutContext(value))).toEqual([true, true, true, true]);
    expect(['', 'ab', '\ud800', '\udfff', 42].map((value) => anyCodePoint.canShrinkWithoutContext(value))).toEqual([false, false, false, false, false]);
  });
});
