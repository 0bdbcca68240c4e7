import Foundation
import SidetapTestKit
import Yams

/// Checks real answers of the running server against docs/control-api.openapi.yaml: the
/// status must be documented for the operation, and a JSON body must match the documented
/// schema (types, required properties, enums, arrays, references).
final class OpenAPIChecker: @unchecked Sendable {
    let spec: [String: Any]
    private(set) var exercised: Set<String> = []
    private(set) var problems: [String] = []

    init() throws {
        let path = TestPaths.repositoryRoot + "/docs/control-api.openapi.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let loaded = try Yams.load(yaml: text) as? [String: Any] else { throw CheckerError("not a YAML mapping: \(path)") }
        spec = loaded
    }

    struct CheckerError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Every operation the document declares, as "METHOD /path/template".
    var operations: Set<String> {
        var all: Set<String> = []
        for (path, value) in spec["paths"] as? [String: Any] ?? [:] {
            for method in (value as? [String: Any] ?? [:]).keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                all.insert("\(method.uppercased()) \(path)")
            }
        }
        return all
    }

    /// Records one exchange; returns the problems it found (also kept in `problems`).
    @discardableResult
    func check(method: String, target: String, status: Int, contentType: String?, body: Data) -> [String] {
        let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
        var found: [String] = []
        guard let (template, operation) = find(method: method.lowercased(), path: path) else {
            found.append("\(method) \(path): not in the OpenAPI document")
            problems += found
            return found
        }
        exercised.insert("\(method.uppercased()) \(template)")
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard var response = responses["\(status)"] as? [String: Any] else {
            found.append("\(method) \(template): status \(status) is not documented (documented: \(responses.keys.sorted().joined(separator: ", ")))")
            problems += found
            return found
        }
        if let ref = response["$ref"] as? String { response = resolve(ref) }
        let content = response["content"] as? [String: Any] ?? [:]
        if let json = content["application/json"] as? [String: Any], let schema = json["schema"] as? [String: Any] {
            if contentType?.hasPrefix("application/json") != true {
                found.append("\(method) \(template) \(status): content type \(contentType ?? "none"), documented application/json")
            } else if let value = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) {
                validate(value, schema, at: "\(method) \(template) \(status) body", into: &found)
            } else {
                found.append("\(method) \(template) \(status): body is not JSON")
            }
        } else if let other = content.keys.first, contentType?.hasPrefix(other) != true {
            found.append("\(method) \(template) \(status): content type \(contentType ?? "none"), documented \(other)")
        }
        problems += found
        return found
    }

    func find(method: String, path: String) -> (String, [String: Any])? {
        let parts = path.split(separator: "/")
        for (template, value) in spec["paths"] as? [String: Any] ?? [:] {
            let templateParts = template.split(separator: "/")
            guard templateParts.count == parts.count else { continue }
            let same = zip(templateParts, parts).allSatisfy { t, p in t.hasPrefix("{") || t == p }
            if same, let operation = (value as? [String: Any])?[method] as? [String: Any] { return (template, operation) }
        }
        return nil
    }

    func resolve(_ ref: String) -> [String: Any] {
        var node: Any = spec
        for part in ref.dropFirst(2).split(separator: "/") {
            node = (node as? [String: Any])?[String(part)] ?? [:]
        }
        return node as? [String: Any] ?? [:]
    }

    func validate(_ value: Any, _ schemaIn: [String: Any], at place: String, into found: inout [String]) {
        var schema = schemaIn
        if let ref = schema["$ref"] as? String { schema = resolve(ref) }
        if let type = schema["type"] as? String {
            let ok: Bool
            switch type {
            case "object": ok = value is [String: Any]
            case "array": ok = value is [Any]
            case "string": ok = value is String
            case "boolean": ok = (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
            case "integer": ok = (value as? NSNumber).map { String(cString: $0.objCType) != "c" && $0.doubleValue.rounded() == $0.doubleValue } ?? false
            case "number": ok = (value as? NSNumber).map { String(cString: $0.objCType) != "c" } ?? false
            default: ok = true
            }
            if !ok {
                found.append("\(place): expected \(type), got \(value)")
                return
            }
        }
        if let choices = schema["enum"] as? [Any], let text = value as? String,
           !choices.contains(where: { ($0 as? String) == text }) {
            found.append("\(place): '\(text)' is not one of \(choices)")
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                found.append("\(place): required property '\(name)' is missing")
            }
            for (name, child) in object {
                if let childSchema = properties[name] as? [String: Any] {
                    validate(child, childSchema, at: "\(place).\(name)", into: &found)
                } else if schema["additionalProperties"] as? Bool == false {
                    found.append("\(place): property '\(name)' is not documented")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, item) in array.enumerated() { validate(item, items, at: "\(place)[\(index)]", into: &found) }
        }
    }
}
