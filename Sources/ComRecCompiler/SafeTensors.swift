import Foundation

// A reader for the safetensors files training writes (qat.py's int8.safetensors): an 8-byte
// little-endian header size, a JSON header {name: {dtype, shape, data_offsets}}, then the data.

/// One tensor: its dtype name (I8, I32, F32, ...), shape and little-endian bytes.
public struct SafeTensor: Equatable {
    public var dtype: String
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(dtype: String, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }
}

/// A safetensors file, read whole (the models are at most a few megabytes).
public struct SafeTensorsFile {
    public var tensors: [String: SafeTensor]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CompileError("\(path): cannot read the file")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        func fail(_ why: String) -> CompileError { CompileError("\(path): not a safetensors file: \(why)") }
        guard bytes.count >= 8 else { throw fail("shorter than its 8-byte header size") }
        var size = 0
        for i in 0..<8 { size |= Int(bytes[i]) << (8 * i) }
        guard size > 0, size <= bytes.count - 8 else { throw fail("header size \(size) does not fit the file") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + size)]))
        } catch {
            throw fail("the header is not JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("the header is not a JSON object") }
        let dataStart = 8 + size
        var tensors: [String: SafeTensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1],
                  offsets[1] <= bytes.count - dataStart
            else { throw fail("tensor \(name) has a malformed entry") }
            tensors[name] = SafeTensor(
                dtype: dtype, shape: shape, bytes: Array(bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        self.tensors = tensors
    }
}
