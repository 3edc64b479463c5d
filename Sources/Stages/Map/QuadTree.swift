import Foundation

/// A point-region quadtree over 2-D points with each cell's centre of mass, for the Barnes–Hut
/// approximation of t-SNE's repulsive forces (van der Maaten 2014). Leaves hold their points
/// exactly (a linked list, so duplicates and cells at the depth limit stay exact).
struct QuadTree {
    struct Node {
        var centreX: Double
        var centreY: Double
        var halfWidth: Double
        var massX = 0.0
        var massY = 0.0
        var count: Int32 = 0
        /// First of four children, or −1 for a leaf.
        var firstChild: Int32 = -1
        /// A leaf's first point, or −1.
        var head: Int32 = -1
    }

    private(set) var nodes: [Node] = []
    /// The next point in the same leaf, or −1.
    private(set) var next: [Int32]
    let points: [Double]
    static let maximumDepth = 40

    init(points: [Double]) {
        self.points = points
        let n = points.count / 2
        next = [Int32](repeating: -1, count: n)
        var lo = (Double.infinity, Double.infinity), hi = (-Double.infinity, -Double.infinity)
        for i in 0..<n {
            lo = (min(lo.0, points[2 * i]), min(lo.1, points[2 * i + 1]))
            hi = (max(hi.0, points[2 * i]), max(hi.1, points[2 * i + 1]))
        }
        if n == 0 { lo = (0, 0); hi = (0, 0) }
        let half = max(hi.0 - lo.0, hi.1 - lo.1, 1e-12) / 2 * (1 + 1e-6)
        nodes.reserveCapacity(4 * n + 1)
        nodes.append(Node(centreX: (lo.0 + hi.0) / 2, centreY: (lo.1 + hi.1) / 2, halfWidth: half))
        for i in 0..<n { insert(i) }
    }

    @inline(__always)
    private static func quadrant(_ node: Node, _ x: Double, _ y: Double) -> Int {
        (x >= node.centreX ? 1 : 0) + (y >= node.centreY ? 2 : 0)
    }

    private mutating func insert(_ p: Int) {
        let x = points[2 * p], y = points[2 * p + 1]
        var index = 0, depth = 0
        while true {
            var node = nodes[index]
            let c = Double(node.count)
            node.massX = (node.massX * c + x) / (c + 1)
            node.massY = (node.massY * c + y) / (c + 1)
            node.count += 1
            if node.firstChild >= 0 {
                nodes[index] = node
                index = Int(node.firstChild) + QuadTree.quadrant(node, x, y); depth += 1
                continue
            }
            let q = Int(node.head)
            // An empty leaf, a duplicate position, or the depth limit: the point joins this leaf.
            if q < 0 || (points[2 * q] == x && points[2 * q + 1] == y) || depth >= QuadTree.maximumDepth {
                next[p] = node.head; node.head = Int32(p)
                nodes[index] = node
                return
            }
            // Split: the leaf's points (all at q's position) move to one child, then go on down.
            let first = nodes.count, h = node.halfWidth / 2
            for k in 0..<4 {
                nodes.append(Node(centreX: node.centreX + (k & 1 == 1 ? h : -h), centreY: node.centreY + (k & 2 == 2 ? h : -h), halfWidth: h))
            }
            let moved = first + QuadTree.quadrant(node, points[2 * q], points[2 * q + 1])
            nodes[moved].head = node.head
            nodes[moved].count = node.count - 1
            nodes[moved].massX = points[2 * q]; nodes[moved].massY = points[2 * q + 1]
            node.head = -1
            node.firstChild = Int32(first)
            nodes[index] = node
            index = first + QuadTree.quadrant(node, x, y); depth += 1
        }
    }

    /// The repulsive term for point i: Σⱼ qᵢⱼ²(yᵢ − yⱼ) and Σⱼ qᵢⱼ with qᵢⱼ = 1/(1 + |yᵢ − yⱼ|²),
    /// summarising a cell by its centre of mass when its width / distance < theta (and the
    /// cell does not contain i). `stack` is scratch space of at least `stackCapacity` entries.
    func repulsion(_ i: Int, theta: Double, stack: UnsafeMutablePointer<Int32>) -> (fx: Double, fy: Double, sumQ: Double) {
        let theta2 = theta * theta
        var fx = 0.0, fy = 0.0, sumQ = 0.0
        nodes.withUnsafeBufferPointer { nodes in
            points.withUnsafeBufferPointer { points in
                next.withUnsafeBufferPointer { next in
                    let x = points[2 * i], y = points[2 * i + 1]
                    var top = 0
                    stack[0] = 0; top = 1
                    while top > 0 {
                        top -= 1
                        let node = nodes[Int(stack[top])]
                        if node.count == 0 { continue }
                        if node.firstChild < 0 {
                            var p = node.head
                            while p >= 0 {
                                let j = Int(p)
                                if j != i {
                                    let dx = x - points[2 * j], dy = y - points[2 * j + 1]
                                    let q = 1 / (1 + dx * dx + dy * dy)
                                    sumQ += q; fx += q * q * dx; fy += q * q * dy
                                }
                                p = next[j]
                            }
                            continue
                        }
                        let dx = x - node.massX, dy = y - node.massY
                        let d2 = dx * dx + dy * dy
                        let width = 2 * node.halfWidth
                        if width * width < theta2 * d2
                            && !(abs(x - node.centreX) <= node.halfWidth && abs(y - node.centreY) <= node.halfWidth) {
                            let q = 1 / (1 + d2), m = Double(node.count)
                            sumQ += m * q; fx += m * q * q * dx; fy += m * q * q * dy
                        } else {
                            let c = node.firstChild
                            stack[top] = c; stack[top + 1] = c + 1; stack[top + 2] = c + 2; stack[top + 3] = c + 3
                            top += 4
                        }
                    }
                }
            }
        }
        return (fx, fy, sumQ)
    }

    /// Enough stack for any traversal: each level leaves at most three siblings waiting.
    static let stackCapacity = 4 * (maximumDepth + 2)
}
