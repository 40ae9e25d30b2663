/// Refuses weak passwords before they are hashed. The reasons start with the security plugin's
/// "Weak password" wording and then say what to change.
public enum PasswordPolicy {
    public static let minimumLength = 8
    /// Bounds the work of hashing and the size of a request.
    public static let maximumLength = 1024

    /// A short list of the passwords tried first by anyone guessing (lower-cased).
    static let common: Set<String> = [
        "password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "12345678", "123456789",
        "1234567890", "87654321", "qwertyuiop", "qwerty123", "1q2w3e4r", "1qaz2wsx", "abc12345", "abcd1234",
        "iloveyou", "sunshine", "princess", "football", "baseball", "welcome1", "welcome123", "letmein1",
        "admin123", "administrator", "changeme", "changeme1", "trustno1", "superman", "master123", "secret123",
        "opensearch", "elasticsearch", "admin1234", "zaq12wsx", "11111111", "00000000", "qazwsxedc",
    ]

    /// Throws `SecurityError.badRequest` with the first rule the password breaks.
    public static func check(_ password: String, userName: String) throws(SecurityError) {
        let length = password.count
        if password.utf8.count > maximumLength {
            throw .badRequest("Password is too long: at most \(maximumLength) bytes")
        }
        if length < minimumLength {
            throw .badRequest("Weak password: it must be at least \(minimumLength) characters long")
        }
        let lowered = password.lowercased()
        if !userName.isEmpty, lowered.contains(userName.lowercased()) || userName.lowercased().contains(lowered) {
            throw .badRequest("Weak password: it must not be similar to the user name")
        }
        if common.contains(lowered) {
            throw .badRequest("Weak password: it is one of the most common passwords")
        }
        if Set(password).count < 3 {
            throw .badRequest("Weak password: it repeats too few different characters")
        }
        if classes(of: password) < 2 {
            throw .badRequest("Weak password: it must mix at least two of lower-case letters, upper-case letters, digits and symbols")
        }
    }

    static func classes(of password: String) -> Int {
        var lower = false, upper = false, digit = false, other = false
        for character in password {
            if character.isLowercase { lower = true }
            else if character.isUppercase { upper = true }
            else if character.isNumber { digit = true }
            else { other = true }
        }
        return [lower, upper, digit, other].filter { $0 }.count
    }
}
