import { describe, expect, it } from "vitest";
import { bestThreshold, decide, profitCurve } from "../../trainer/src/ml/decision.ts";
import { createRandom } from "../../trainer/src/ml/random.ts";

describe("business threshold", () => {
  // Keeping a churner is worth 100, an offer costs 10 and half the contacted churners accept it:
  // contacting a churner earns 0.5 · 100 − 10 = 40, contacting a stayer loses 10.
  const params = { valuePerCustomer: 100, offerCost: 10, offerAcceptance: 0.5 };
  const y = [1, 1, 0, 0];
  const p = [0.9, 0.6, 0.4, 0.1];

  it("computes the expected profit per customer at every threshold of a hand example", () => {
    const curve = profitCurve(y, p, params);
    expect(curve).toHaveLength(101);
    const at = (t: number) => curve[Math.round(t * 100)]!;
    expect(at(0).expectedProfit).toBeCloseTo((40 + 40 - 10 - 10) / 4, 10); // everyone
    expect(at(0.1).expectedProfit).toBeCloseTo(60 / 4, 10);
    expect(at(0.3).expectedProfit).toBeCloseTo((40 + 40 - 10) / 4, 10); // 0.9, 0.6, 0.4
    expect(at(0.5).expectedProfit).toBeCloseTo(80 / 4, 10); // 0.9, 0.6
    expect(at(0.6).expectedProfit).toBeCloseTo(80 / 4, 10); // p >= threshold is contacted
    expect(at(0.7).expectedProfit).toBeCloseTo(40 / 4, 10);
    expect(at(0.95).expectedProfit).toBe(0);
    expect(at(0.5).contactRate).toBe(0.5);
    expect(at(0).contactRate).toBe(1);
  });

  it("picks the middle of the most profitable plateau and reports the break-even", () => {
    const decision = decide(y, p, params);
    // Profit is 20 for every threshold in (0.4, 0.6]; the middle of that plateau is 0.5.
    expect(decision.threshold).toBe(0.5);
    expect(decision.breakEven).toBeCloseTo(10 / (0.5 * 100), 12);
    expect(decision.curve[50]!.expectedProfit).toBe(20);
    expect(
      bestThreshold([
        { threshold: 0, expectedProfit: -1, contactRate: 1 },
        { threshold: 1, expectedProfit: 0, contactRate: 0 },
      ]),
    ).toBe(1);
  });

  it("lands near the break-even cost / (acceptance · value) for calibrated probabilities", () => {
    const random = createRandom(3);
    const probabilities = Array.from({ length: 50_000 }, () => random());
    const labels = probabilities.map((q) => (random() < q ? 1 : 0));
    const decision = decide(labels, probabilities, {
      valuePerCustomer: 500,
      offerCost: 50,
      offerAcceptance: 0.3,
    });
    expect(decision.breakEven).toBeCloseTo(1 / 3, 10);
    expect(Math.abs(decision.threshold - 1 / 3)).toBeLessThan(0.05);
  });

  it("rejects impossible business inputs", () => {
    expect(() => decide(y, p, { ...params, offerAcceptance: 0 })).toThrow(/acceptance/);
    expect(() => decide(y, p, { ...params, valuePerCustomer: -1 })).toThrow(/Value per customer/);
    expect(() => decide(y, p, { ...params, offerCost: Number.NaN })).toThrow(/Offer cost/);
  });
});
