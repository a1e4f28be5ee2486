import QRCode from 'qrcode';

/**
 * The provisioning QR code a factory-reset Android device scans (tap the welcome screen six
 * times): Google's `qrCode` JSON as given, in byte mode. Level M rather than higher: the JSON is
 * some 500 bytes, and more error correction makes a denser code, harder to read off a screen.
 */
const OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;

export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...OPTIONS, type: 'png', scale: 6 });
}

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...OPTIONS, type: 'svg' });
}
