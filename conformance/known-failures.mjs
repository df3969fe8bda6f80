// Cells that are expected to fail today, each with the reason. The suite exits non-zero only when a
// cell NOT listed here fails, so CI stays green while docs/COMPATIBILITY.md tells the truth. Remove an
// entry when its cell passes (the suite prints such cells as "unexpectedly passing").
// Keys: '<sdk>:<feature>' or '*:<feature>' for every SDK.
export const KNOWN_FAILURES = {
};
