import { createRandom, normal, type Random, weightedChoice } from "../ml/random.ts";

/** Column order and names of the IBM Telco Customer Churn CSV. */
export const TELCO_COLUMNS = [
  "customerID",
  "gender",
  "SeniorCitizen",
  "Partner",
  "Dependents",
  "tenure",
  "PhoneService",
  "MultipleLines",
  "InternetService",
  "OnlineSecurity",
  "OnlineBackup",
  "DeviceProtection",
  "TechSupport",
  "StreamingTV",
  "StreamingMovies",
  "Contract",
  "PaperlessBilling",
  "PaymentMethod",
  "MonthlyCharges",
  "TotalCharges",
  "Churn",
] as const;

export type TelcoColumn = (typeof TELCO_COLUMNS)[number];
export type TelcoRow = Record<TelcoColumn, string>;

/** Share of churners to aim for without a scenario (the real data set has 26.5 %). */
const CHURN_RATE = 0.265;

const ADD_ONS = [
  "OnlineSecurity",
  "OnlineBackup",
  "DeviceProtection",
  "TechSupport",
  "StreamingTV",
  "StreamingMovies",
] as const;

interface Customer {
  row: Omit<TelcoRow, "Churn">;
  /** Churn log-odds without the intercept, which is calibrated afterwards to hit CHURN_RATE. */
  logit: number;
  /** A scenario's extra log-odds, added after calibration: the drift moves the churn rate too. */
  shock: number;
}

/**
 * Drifted variants of the generator, for exercising monitoring and retraining:
 * - `price-rise`: a re-pricing raises the monthly charges of every internet customer by 20–45 %;
 *   customers hit by it churn more, long-standing ones most (the rise breaks the loyalty the base data
 *   rewards), so tenure protects less than it used to and high charges matter more;
 * - `contract-mix`: a month-to-month promotion moves the mix to 75 / 15 / 10 %, and the new short-tenure
 *   month-to-month customers it brought churn more than their like did before;
 * - `new-payment-method`: a "Digital wallet" method appears (a third of customers), whose users churn more;
 *   a model trained before it has never seen the value.
 */
export const SCENARIOS = ["price-rise", "contract-mix", "new-payment-method"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/**
 * Synthetic customers with the Telco schema and value sets, and churn driven by the same factors as
 * the real data: month-to-month contracts, short tenure, high monthly charges, fiber optic, electronic
 * check, and no tech support / online security. Deterministic for a given seed.
 */
export function generateTelco(n: number, seed: number, scenario?: Scenario): TelcoRow[] {
  const random = createRandom(seed);
  const ids = new Set<string>();
  const customers: Customer[] = [];
  for (let i = 0; i < n; i++) customers.push(generateCustomer(random, uniqueId(random, ids), scenario));

  const intercept = calibrateIntercept(
    customers.map((c) => c.logit),
    CHURN_RATE,
  );
  return customers.map(({ row, logit, shock }) => ({
    ...row,
    Churn: random() < 1 / (1 + Math.exp(-(logit + shock + intercept))) ? "Yes" : "No",
  }));
}

function generateCustomer(random: Random, customerID: string, scenario?: Scenario): Customer {
  const yes = (p: number) => (random() < p ? "Yes" : "No");
  const gender = random() < 0.5 ? "Male" : "Female";
  const senior = random() < 0.16;
  const partner = yes(0.48);
  const dependents = yes(partner === "Yes" ? 0.5 : 0.12);

  const contract = weightedChoice(
    ["Month-to-month", "One year", "Two year"],
    scenario === "contract-mix" ? [75, 15, 10] : [55, 21, 24],
    random,
  );
  const tenure = drawTenure(contract, random);

  const phone = yes(0.9);
  const multipleLines = phone === "Yes" ? yes(0.35 + tenure / 200) : "No phone service";
  // Customers without phone service always have internet (as in the real data).
  const internet =
    phone === "No"
      ? "DSL"
      : weightedChoice(
          ["DSL", "Fiber optic", "No"],
          [senior ? 20 : 31, senior ? 68 : 44, senior ? 12 : 25],
          random,
        );

  const addOns: Record<(typeof ADD_ONS)[number], string> = {
    OnlineSecurity: "",
    OnlineBackup: "",
    DeviceProtection: "",
    TechSupport: "",
    StreamingTV: "",
    StreamingMovies: "",
  };
  const loyalty = tenure / 72 + (contract === "Two year" ? 0.25 : contract === "One year" ? 0.1 : 0);
  for (const addOn of ADD_ONS) {
    if (internet === "No") {
      addOns[addOn] = "No internet service";
      continue;
    }
    const streaming = addOn.startsWith("Streaming");
    const base = streaming ? (internet === "Fiber optic" ? 0.5 : 0.3) : internet === "DSL" ? 0.35 : 0.25;
    addOns[addOn] = yes(Math.min(0.9, base + 0.35 * loyalty));
  }

  const paperless = yes(internet === "Fiber optic" ? 0.75 : internet === "DSL" ? 0.55 : 0.3);
  const automaticShare = contract === "Month-to-month" ? 0.3 : 0.6;
  let paymentMethod = weightedChoice(
    ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
    contract === "Month-to-month"
      ? [0.48, 0.22, automaticShare / 2, automaticShare / 2]
      : [0.12, 0.28, automaticShare / 2, automaticShare / 2],
    random,
  );
  if (scenario === "new-payment-method" && random() < 1 / 3) paymentMethod = "Digital wallet";

  const listPrice = monthlyCharges(phone, multipleLines, internet, addOns, random);
  // The price rise: every internet customer pays 20-45 % more from this month (history unchanged).
  const rise = scenario === "price-rise" && internet !== "No" ? 0.2 + 0.25 * random() : 0;
  const monthly = Math.round(listPrice * (1 + rise) * 20) / 20;
  const total =
    tenure === 0 ? " " : formatNumber(Math.max(monthly, tenure * listPrice * (1 + 0.04 * normal(random))));

  let logit = 0;
  logit += contract === "Month-to-month" ? 1.2 : contract === "One year" ? 0 : -1.2;
  logit += -1.1 * Math.log1p(tenure / 6);
  logit += 0.02 * (monthly - 65);
  logit += internet === "Fiber optic" ? 0.7 : internet === "No" ? -0.5 : 0;
  logit += paymentMethod === "Electronic check" ? 0.45 : 0;
  logit += addOns.TechSupport === "No" ? 0.4 : 0;
  logit += addOns.OnlineSecurity === "No" ? 0.4 : 0;
  logit += senior ? 0.25 : 0;
  logit += paperless === "Yes" ? 0.3 : 0;
  logit += dependents === "Yes" ? -0.15 : 0;
  let shock = 0;
  if (rise > 0) shock += rise * (tenure >= 12 ? 7 : 4);
  if (scenario === "contract-mix" && contract === "Month-to-month" && tenure < 12) shock += 0.8;
  if (paymentMethod === "Digital wallet") shock += 1.6;

  return {
    row: {
      customerID,
      gender,
      SeniorCitizen: senior ? "1" : "0",
      Partner: partner,
      Dependents: dependents,
      tenure: String(tenure),
      PhoneService: phone,
      MultipleLines: multipleLines,
      InternetService: internet,
      ...addOns,
      Contract: contract,
      PaperlessBilling: paperless,
      PaymentMethod: paymentMethod,
      MonthlyCharges: formatNumber(monthly),
      TotalCharges: total,
    },
    logit,
    shock,
  };
}

/** Months 0-72; month-to-month customers skew new, two-year customers skew long-standing. */
function drawTenure(contract: string, random: Random): number {
  if (contract === "Two year" && random() < 0.007) return 0; // brand-new sign-ups, TotalCharges still blank
  const u = random();
  let months: number;
  if (contract === "Month-to-month") months = 1 + 60 * u ** 2.2;
  else if (contract === "One year") months = 3 + 69 * u ** 0.9;
  else months = 6 + 66 * u ** 0.45;
  return Math.min(72, Math.max(1, Math.round(months)));
}

/** Price list in the real data's range (18.25-118.75), rounded to 0.05. */
function monthlyCharges(
  phone: string,
  multipleLines: string,
  internet: string,
  addOns: Record<string, string>,
  random: Random,
): number {
  let price = 0;
  if (phone === "Yes") price += 20 + (multipleLines === "Yes" ? 5 : 0);
  if (internet === "DSL") price += phone === "Yes" ? 25 : 30;
  if (internet === "Fiber optic") price += 50;
  for (const [name, value] of Object.entries(addOns)) {
    if (value === "Yes") price += name.startsWith("Streaming") ? 10 : 5;
  }
  price += 1.2 * normal(random);
  const clamped = Math.min(118.75, Math.max(18.25, price));
  return Math.round(clamped * 20) / 20;
}

/** Shortest decimal form with at most 2 decimals, like the source file ("29.85", "42.3", "1889.5"). */
function formatNumber(value: number): string {
  return String(Number(value.toFixed(2)));
}

function uniqueId(random: Random, used: Set<string>): string {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (;;) {
    let id = String(Math.floor(random() * 10000)).padStart(4, "0") + "-";
    for (let i = 0; i < 5; i++) id += letters[Math.floor(random() * 26)];
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
}

/** Intercept b with mean(sigmoid(logit + b)) = rate, by bisection (the mean is monotone in b). */
function calibrateIntercept(logits: number[], rate: number): number {
  if (logits.length === 0) return 0;
  let lo = -20;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    let mean = 0;
    for (const l of logits) mean += 1 / (1 + Math.exp(-(l + mid)));
    if (mean / logits.length < rate) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
