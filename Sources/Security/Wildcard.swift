/// The security plugin's simple patterns: `*` any run of characters, `?` one character, else exact.
public enum Wildcard {
    /// Linear-time greedy matching with one backtrack point (no exponential blow-up on hostile patterns).
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0
        var star: Int? = nil, resume = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; resume = ti; pi += 1
            } else if let starAt = star {
                pi = starAt + 1; resume += 1; ti = resume
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
