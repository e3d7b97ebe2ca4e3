// The one number formatter of the libraries: fixed decimals without Foundation (Embedded-safe).

/// `value` with `digits` decimals, e.g. decimalString(0.1, 2) == "0.10", decimalString(-2.5, 0) == "-3".
public func decimalString(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return "\(value)" }
    let n = Int(scaled), unit = Int(scale)
    let sign = value < 0 && n != 0 ? "-" : ""
    if digits == 0 { return sign + "\(n)" }
    let frac = String(n % unit)
    return sign + "\(n / unit)." + String(repeating: "0", count: digits - frac.count) + frac
}
