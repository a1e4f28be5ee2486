import QRCode from 'qrcode';

/**
 * A QR code as inline SVG markup: no image request, nothing for the Content-Security-Policy to
 * allow (the SVG carries presentation attributes, no style), and the secret never sits in a URL.
 */
export async function qrSvg(text: string): Promise<string> {
  return (await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 224 })).trim();
}
