/// The fixed constants that define the default (spectral) detector's algorithm. Both the
/// optimized `SpectralVoiceDetector` and CopilotReference's plain-loop twin read them, so the
/// two compute the same function; `benchmarks/vad_train.py` trains the model on features
/// computed with them.
///
/// Analysis: every 10 ms hop (160 samples), a 256-sample periodic-Hann window ending at the
/// hop's last sample, its power spectrum, 16 band log-energies, a per-band noise floor by
/// minimum statistics, and `featureCount` features (see `SpectralFeatureExtractor`).
public enum SpectralVADParameters {
    /// Sample rate the detector works at.
    package static let sampleRate = 16_000
    /// Analysis hop: 10 ms. Frames of 10, 20 and 30 ms are 1, 2 or 3 hops.
    package static let hopSamples = 160
    /// Analysis window.
    package static let windowSamples = 256
    /// Band edges in FFT bins (62.5 Hz each): band b covers bins [edges[b], edges[b + 1]).
    package static let bandEdges: [Int] = [1, 3, 5, 7, 9, 12, 15, 19, 24, 30, 37, 46, 57, 70, 86, 105, 129]
    /// Bands.
    package static let bandCount = 16
    /// Floor added to powers before the logarithm.
    package static let powerFloor: Float = 1e-10
    /// Weight of the new value in the smoothing of band log-energies before minimum tracking.
    package static let floorSmoothing: Float = 0.3
    /// Minimum statistics: hops per sub-window.
    package static let minimumSubwindowHops = 20
    /// Minimum statistics: remembered sub-windows (the floor is the minimum over the current
    /// and these, about 1.6 s).
    package static let minimumSubwindows = 8
    /// Sub-band SNRs (natural-log units) are clamped to this range.
    package static let snrRange: ClosedRange<Float> = -2...12
    /// Absolute level (log mean power) is clamped to this range.
    package static let levelRange: ClosedRange<Float> = -23...0
    /// Features per hop.
    package static let featureCount = 33
    /// (threshold on the frame's mean speech probability, hangover in ms) per aggressiveness
    /// 0 ... 3, tuned with the model by `benchmarks/vad_train.py`: stricter levels need more
    /// evidence and hold speech for less time.
    package static var aggressivenessTable: [(threshold: Double, hangoverMs: Int)] { SpectralVADModel.decisionTable }
    /// Default aggressiveness.
    public static let defaultAggressiveness = 1
}
