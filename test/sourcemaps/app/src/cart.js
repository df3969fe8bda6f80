// A small app for the source-map tests: bundled and minified by esbuild, its error thrown three
// calls deep so that original names are visible in every frame.
export function chargeCustomerCard(amount) {
  if (amount > 10) {
    throw new TypeError(`card declined for ${amount}`);
  }
  return amount;
}
