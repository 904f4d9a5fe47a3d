// Stylize a photo with an exported fst model from C++, with OpenCV's DNN module (4.x or 5.x):
//
//   g++ -O2 -o stylize stylize.cpp $(pkg-config --cflags --libs opencv4)
//   ./stylize ../../exports/starry_night.onnx photo.jpg photo_starry.png
//
// The model takes `image`, float32 NCHW RGB in [0, 1], with height and width multiples of 4; other sizes are
// padded by reflection on the right and bottom here and the output is cropped back (exports/models.json).
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: stylize MODEL.onnx INPUT OUTPUT\n";
        return 2;
    }
    cv::Mat photo = cv::imread(argv[2], cv::IMREAD_COLOR);
    if (photo.empty()) {
        std::cerr << argv[2] << ": cannot read this image\n";
        return 1;
    }
    const int height = photo.rows, width = photo.cols;
    cv::Mat padded;  // BORDER_REFLECT_101 is the reflection without repeating the edge, as the network was trained
    cv::copyMakeBorder(photo, padded, 0, (4 - height % 4) % 4, 0, (4 - width % 4) % 4, cv::BORDER_REFLECT_101);

    cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
    // BGR uint8 HWC -> RGB float32 NCHW in [0, 1]
    net.setInput(cv::dnn::blobFromImage(padded, 1.0 / 255, cv::Size(), cv::Scalar(), /*swapRB=*/true));
    cv::Mat out = net.forward();  // 1x3xHxW

    std::vector<cv::Mat> planes;  // R, G, B
    for (int c = 0; c < 3; c++) planes.emplace_back(padded.rows, padded.cols, CV_32F, out.ptr<float>(0, c));
    std::swap(planes[0], planes[2]);  // -> B, G, R for imwrite
    cv::Mat stylized;
    cv::merge(planes, stylized);
    stylized(cv::Rect(0, 0, width, height)).convertTo(stylized, CV_8UC3, 255.0);
    if (!cv::imwrite(argv[3], stylized)) {
        std::cerr << argv[3] << ": cannot write this image\n";
        return 1;
    }
    std::cout << "wrote " << argv[3] << " (" << width << "x" << height << ")\n";
    return 0;
}
