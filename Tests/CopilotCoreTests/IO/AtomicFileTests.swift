import CopilotCore
import Foundation
import Testing

@Suite struct AtomicFileTests {
    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func replacesARegularFileAndLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.txt"
        try "old contents that are longer".write(toFile: path, atomically: false, encoding: .utf8)
        try AtomicFile.write(Array("new".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.txt"])
    }

    /// The one writer every kept file goes through: a replacement keeps the old file's
    /// permissions (a 0600 transcript stays private), a create-only publish never touches an
    /// existing file, and a write that is dropped leaves nothing behind.
    @Test func stagedFilesKeepTheModeRefuseToClobberAndLeaveNoTrace() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/private.txt"
        try "secret".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        try AtomicFile.write(Array("replaced".utf8), to: path)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "replaced")

        let staged = StagedFile(path)
        let fd = try staged.open()
        _ = "other".withCString { write(fd, $0, 5) }
        close(fd)
        #expect(throws: StagedFile.Failure.self) { try staged.publish(createOnly: true) }
        do { try staged.publish(createOnly: true) } catch { #expect(error.code == EEXIST) }
        staged.discard()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "replaced", "the existing file is untouched")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["private.txt"])

        do {
            let dropped = StagedFile(dir + "/never.txt")
            close(try dropped.open())
            #expect(FileManager.default.fileExists(atPath: dropped.stagingPath))
        }  // dropped unpublished: its temporary file goes with it
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["private.txt"])

        let fresh = StagedFile(dir + "/new.txt")
        close(try fresh.open())
        try fresh.publish(createOnly: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["new.txt", "private.txt"])
    }

    @Test func missingDirectoryIsAnErrorNamingThePath() throws {
        #expect {
            try AtomicFile.write(Array("x".utf8), to: "/nonexistent-dir/out.txt")
        } throws: { error in
            (error as? OutputError)?.errorDescription?.contains("/nonexistent-dir/out.txt") == true
        }
    }

    @Test func devicesAndPipesAreSpecial() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(StagedFile.isSpecial("/dev/null"))
        #expect(!StagedFile.isSpecial(dir + "/absent"))
        try "x".write(toFile: dir + "/plain", atomically: false, encoding: .utf8)
        #expect(!StagedFile.isSpecial(dir + "/plain"))
    }

    /// A FIFO destination is written in place: the node survives and the reader gets the bytes
    /// (renaming a temporary file over it would replace the FIFO, as it once replaced /dev/null).
    @Test func aFifoIsWrittenInPlace() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = ReceivedBytes()
        let reader = Thread {
            received.data = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()
            received.done.signal()
        }
        reader.start()
        try AtomicFile.write(Array("through the pipe".utf8), to: fifo)
        #expect(received.done.wait(timeout: .now() + 10) == .success)
        #expect(String(decoding: received.data, as: UTF8.self) == "through the pipe")
        var info = stat()
        #expect(stat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    }
}

private final class ReceivedBytes: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
