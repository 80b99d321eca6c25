export function celsiusTo(c: number, units: string): number {
  return units === "imperial" ? Math.round(c * 9 / 5 + 32) : c;
}
