/// A point on edwards25519 (−x² + y² = 1 + d·x²·y²) in extended coordinates: x = X/Z, y = Y/Z,
/// X·Y = Z·T. Variable-time group law for verification; formulas as in ref10 / curve25519-dalek.
@available(macOS 15.0, *)
struct EdwardsPoint: Sendable {
    var X, Y, Z, T: FieldElement

    static let identity = EdwardsPoint(X: .zero, Y: .one, Z: .one, T: .zero)

    /// The ed25519 base point (y = 4/5, x even), which also generates ristretto255.
    static let basepoint = EdwardsPoint(
        X: FieldElement(1738742601995546, 1146398526822698, 2070867633025821, 562264141797630, 587772402128613),
        Y: FieldElement(1801439850948184, 1351079888211148, 450359962737049, 900719925474099, 1801439850948198),
        Z: .one,
        T: FieldElement(1841354044333475, 16398895984059, 755974180946558, 900171276175154, 1821297809914039))

    @inline(__always)
    static prefix func - (p: EdwardsPoint) -> EdwardsPoint {
        EdwardsPoint(X: -p.X, Y: p.Y, Z: p.Z, T: -p.T)
    }

    @inline(__always)
    static func + (p: EdwardsPoint, q: ProjectiveNiels) -> CompletedPoint {
        let pp = (p.Y + p.X) * q.yPlusX
        let mm = (p.Y - p.X) * q.yMinusX
        let tt2d = p.T * q.t2d
        let zz = p.Z * q.Z
        let zz2 = zz + zz
        return CompletedPoint(X: pp - mm, Y: pp + mm, Z: zz2 + tt2d, T: zz2 - tt2d)
    }

    @inline(__always)
    static func - (p: EdwardsPoint, q: ProjectiveNiels) -> CompletedPoint {
        let pp = (p.Y + p.X) * q.yMinusX
        let mm = (p.Y - p.X) * q.yPlusX
        let tt2d = p.T * q.t2d
        let zz = p.Z * q.Z
        let zz2 = zz + zz
        return CompletedPoint(X: pp - mm, Y: pp + mm, Z: zz2 - tt2d, T: zz2 + tt2d)
    }

    @inline(__always)
    static func + (p: EdwardsPoint, q: AffineNiels) -> CompletedPoint {
        let pp = (p.Y + p.X) * q.yPlusX
        let mm = (p.Y - p.X) * q.yMinusX
        let txy2d = p.T * q.xy2d
        let z2 = p.Z + p.Z
        return CompletedPoint(X: pp - mm, Y: pp + mm, Z: z2 + txy2d, T: z2 - txy2d)
    }

    @inline(__always)
    static func - (p: EdwardsPoint, q: AffineNiels) -> CompletedPoint {
        let pp = (p.Y + p.X) * q.yMinusX
        let mm = (p.Y - p.X) * q.yPlusX
        let txy2d = p.T * q.xy2d
        let z2 = p.Z + p.Z
        return CompletedPoint(X: pp - mm, Y: pp + mm, Z: z2 - txy2d, T: z2 + txy2d)
    }

    static func + (p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint { (p + q.projectiveNiels).extended }
    static func - (p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint { (p - q.projectiveNiels).extended }

    func doubled() -> EdwardsPoint { projective.doubled().extended }

    @inline(__always)
    var projective: ProjectivePoint { ProjectivePoint(X: X, Y: Y, Z: Z) }

    @inline(__always)
    var projectiveNiels: ProjectiveNiels {
        ProjectiveNiels(yPlusX: Y + X, yMinusX: Y - X, Z: Z, t2d: T * .d2)
    }

    /// The same point with Z = 1 folded in; one inversion, so only for precomputed tables.
    var affineNiels: AffineNiels {
        let zInverse = Z.inverted()
        let x = X * zInverse, y = Y * zInverse
        return AffineNiels(yPlusX: y + x, yMinusX: y - x, xy2d: x * y * .d2)
    }
}

/// ((X:Z), (Y:T)): the output of the addition and doubling formulas before the final products.
@available(macOS 15.0, *)
struct CompletedPoint: Sendable {
    var X, Y, Z, T: FieldElement

    @inline(__always)
    var projective: ProjectivePoint { ProjectivePoint(X: X * T, Y: Y * Z, Z: Z * T) }

    @inline(__always)
    var extended: EdwardsPoint { EdwardsPoint(X: X * T, Y: Y * Z, Z: Z * T, T: X * Y) }
}

/// (X:Y:Z) without T: enough for doubling, which saves a product when two doublings follow.
@available(macOS 15.0, *)
struct ProjectivePoint: Sendable {
    var X, Y, Z: FieldElement

    static let identity = ProjectivePoint(X: .zero, Y: .one, Z: .one)

    @inline(__always)
    func doubled() -> CompletedPoint {
        let xx = X.square()
        let yy = Y.square()
        let zz = Z.square()
        let zz2 = zz + zz
        let xPlusYSquared = (X + Y).square()
        let yyPlusXX = yy + xx
        let yyMinusXX = yy - xx
        return CompletedPoint(X: xPlusYSquared - yyPlusXX, Y: yyPlusXX, Z: yyMinusXX, T: zz2 - yyMinusXX)
    }

    @inline(__always)
    var extended: EdwardsPoint { EdwardsPoint(X: X * Z, Y: Y * Z, Z: Z.square(), T: X * Y) }
}

/// (Y + X, Y − X, Z, 2d·T): a point prepared as the right-hand operand of additions.
@available(macOS 15.0, *)
struct ProjectiveNiels: Sendable {
    var yPlusX, yMinusX, Z, t2d: FieldElement
}

/// (y + x, y − x, 2d·x·y) with Z = 1: one product cheaper to add; for the base-point table.
@available(macOS 15.0, *)
struct AffineNiels: Sendable {
    var yPlusX, yMinusX, xy2d: FieldElement
}
