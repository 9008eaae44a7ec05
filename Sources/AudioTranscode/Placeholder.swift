import CAVFormat
import CAVCodec
import CAVUtil
import CSwResample
public let libavformatVersion = avformat_version()
