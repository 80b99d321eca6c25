export function priceOf(symbol) {
  let h = 7;
  for (const c of symbol.toUpperCase()) h = (h * 31 + c.charCodeAt(0)) % 10007;
  return Math.round(h) / 100;
}
