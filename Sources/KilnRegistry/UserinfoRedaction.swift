extension String {
    /// This text with the user info of every URL in it (`http://user:pass@host`) replaced by
    /// `***`: an endpoint may carry a password, and kiln prints URLs in notes and errors.
    /// Works on whole messages, so it can guard every line kiln prints about a registry.
    public var redactingUserinfo: String {
        var result = ""
        var rest = Substring(self)
        while let schemeEnd = rest.range(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0.isWhitespace } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                result += "***"
                rest = rest[at...]
            }
        }
        return result + rest
    }
}
