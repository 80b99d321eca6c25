export function describeDay(city: string, day: number, temp: number, units: string): string {
  const unit = units === "imperial" ? "°F" : "°C";
  const sky = ["sunny", "cloudy", "rainy"][(city.length + day) % 3];
  return `day ${day + 1}: ${sky}, ${temp}${unit}`;
}
